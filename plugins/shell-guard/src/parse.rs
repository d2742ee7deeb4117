//! Groups tokens into simple commands and pipelines.

use crate::lexer::{Op, Redirect, Token, Word, tokenize};

/// A simple command: its words (assignments included) and redirections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// The words, in order.
    pub words: Vec<Word>,
    /// The redirections.
    pub redirects: Vec<Redirect>,
}

/// Commands joined by `|`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    /// The stages, in order.
    pub commands: Vec<Command>,
}

/// Reserved words that may stand before a command and are not one themselves.
const PREFIX_KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "time", "!", "{", "}",
    "esac", "in",
];

/// Parses a script into pipelines. Grouping (`( … )`, `{ …; }`, `if`, loops) is
/// flattened: what matters here is which commands run, not in which order.
pub fn parse(script: &str) -> Vec<Pipeline> {
    let mut pipelines = Vec::new();
    let mut pipeline = Pipeline::default();
    let mut command = Command::default();
    let end_command = |pipeline: &mut Pipeline, command: &mut Command| {
        if !command.words.is_empty() || !command.redirects.is_empty() {
            pipeline.commands.push(std::mem::take(command));
        }
    };
    for token in tokenize(script) {
        match token {
            Token::Word(w) => {
                if command.words.is_empty()
                    && !w.quoted
                    && PREFIX_KEYWORDS.contains(&w.text.as_str())
                {
                    continue;
                }
                command.words.push(w);
            }
            Token::Redirect(r) => command.redirects.push(r),
            Token::Op(Op::Pipe) => end_command(&mut pipeline, &mut command),
            Token::Op(_) => {
                end_command(&mut pipeline, &mut command);
                if !pipeline.commands.is_empty() {
                    pipelines.push(std::mem::take(&mut pipeline));
                }
            }
        }
    }
    end_command(&mut pipeline, &mut command);
    if !pipeline.commands.is_empty() {
        pipelines.push(pipeline);
    }
    pipelines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(script: &str) -> Vec<Vec<String>> {
        parse(script)
            .into_iter()
            .map(|p| {
                p.commands
                    .iter()
                    .map(|c| {
                        c.words
                            .iter()
                            .map(|w| w.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn pipelines_and_lists() {
        assert_eq!(
            shape("a b | c; d && e || f & g"),
            [vec!["a b", "c"], vec!["d"], vec!["e"], vec!["f"], vec!["g"]]
        );
        assert_eq!(
            shape("if true; then rm -rf /; fi"),
            [vec!["true"], vec!["rm -rf /"]]
        );
        assert_eq!(
            shape("(cd x && rm -rf y)"),
            [vec!["cd x"], vec!["rm -rf y"]]
        );
        assert_eq!(shape("{ a; b; }"), [vec!["a"], vec!["b"]]);
        assert_eq!(shape("while :; do x; done"), [vec![":"], vec!["x"]]);
        assert_eq!(shape("'if' x"), [vec!["if x"]]);
        assert_eq!(shape(""), Vec::<Vec<String>>::new());
    }

    #[test]
    fn redirect_only_commands() {
        let p = parse("> /dev/sda");
        assert_eq!(p[0].commands[0].redirects.len(), 1);
        assert!(p[0].commands[0].words.is_empty());
    }
}
