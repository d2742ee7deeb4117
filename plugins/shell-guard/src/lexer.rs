//! A shell-word tokenizer, close enough to POSIX sh and bash to see what would run.
//!
//! It removes quotes and escapes (`'…'`, `"…"`, `\x`, `$'…'` with its escapes decoded),
//! splits off control operators (`;`, `&&`, `||`, `|`, `|&`, `&`, newline, `(`, `)`,
//! `;;`) and redirections (with here-documents and here-strings), and extracts the
//! scripts of command substitutions (`$(…)`, `` `…` ``) and process substitutions
//! (`<(…)`, `>(…)`) so that they can be analysed in turn. Parameter expansions
//! (`$HOME`, `${HOME}`) and arithmetic (`$((…))`) stay in the word's text as written.
//!
//! It never fails: an unterminated quote or substitution runs to the end of the input,
//! which is what matters for finding commands (bash would refuse to run it, which is
//! harmless either way).

/// A control operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `;`
    Semi,
    /// `;;`, `;&`, `;;&` (ends a `case` branch)
    CaseEnd,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `|` or `|&`
    Pipe,
    /// `&`
    Background,
    /// A newline.
    Newline,
    /// `(`
    LParen,
    /// `)`
    RParen,
}

/// How a substitution's output is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    /// `$(…)` or `` `…` ``: replaced by its output.
    Command,
    /// `<(…)` or `>(…)`: replaced by a file name connected to it.
    Process,
}

/// A script embedded in a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sub {
    /// How it is embedded.
    pub kind: SubKind,
    /// Its text.
    pub script: String,
}

/// A shell word after quote removal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    /// The text, quotes and escapes removed; substitutions and expansions kept as
    /// written (`$(date)`, `${HOME}`).
    pub text: String,
    /// Whether any part of it was quoted or escaped.
    pub quoted: bool,
    /// The substitutions in it.
    pub subs: Vec<Sub>,
}

impl Word {
    /// An unquoted word with this text (for argv arrays and tests).
    pub fn plain(text: &str) -> Self {
        Word {
            text: text.to_owned(),
            quoted: false,
            subs: Vec::new(),
        }
    }
}

/// A redirection operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirOp {
    /// `>`, `>|`, `&>`, `>&` with a file
    Write,
    /// `>>`, `&>>`
    Append,
    /// `<`, `<&`, `<>`
    Read,
    /// `<<`, `<<-`
    HereDoc,
    /// `<<<`
    HereString,
}

/// A redirection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The operator.
    pub op: RedirOp,
    /// The target (the delimiter for a here-document).
    pub target: Word,
    /// A here-document's body.
    pub body: Option<String>,
    /// Substitutions in an unquoted here-document's body (they run).
    pub body_subs: Vec<Sub>,
}

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A word.
    Word(Word),
    /// A control operator.
    Op(Op),
    /// A redirection.
    Redirect(Redirect),
}

/// Splits a script into tokens.
pub fn tokenize(script: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        chars: script.chars().collect(),
        pos: 0,
        tokens: Vec::new(),
        pending_heredocs: Vec::new(),
    };
    lexer.run();
    lexer.tokens
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    tokens: Vec<Token>,
    /// Here-documents whose bodies start after the next newline: (token index,
    /// delimiter, strip leading tabs, delimiter quoted).
    pending_heredocs: Vec<(usize, String, bool, bool)>,
}

fn is_meta(c: char) -> bool {
    matches!(
        c,
        ';' | '&' | '|' | '(' | ')' | '<' | '>' | '\n' | ' ' | '\t' | '\r'
    )
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    fn op(&mut self, op: Op, len: usize) {
        self.pos += len;
        self.tokens.push(Token::Op(op));
    }

    fn run(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' => self.pos += 1,
                '\\' if self.peek_at(1) == Some('\n') => self.pos += 2,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\n' => {
                    self.op(Op::Newline, 1);
                    self.read_heredoc_bodies();
                }
                ';' => {
                    if self.starts_with(";;&") {
                        self.op(Op::CaseEnd, 3);
                    } else if self.starts_with(";;") || self.starts_with(";&") {
                        self.op(Op::CaseEnd, 2);
                    } else {
                        self.op(Op::Semi, 1);
                    }
                }
                '&' => {
                    if self.starts_with("&&") {
                        self.op(Op::And, 2);
                    } else if self.starts_with("&>>") {
                        self.pos += 3;
                        self.redirect(RedirOp::Append);
                    } else if self.starts_with("&>") {
                        self.pos += 2;
                        self.redirect(RedirOp::Write);
                    } else {
                        self.op(Op::Background, 1);
                    }
                }
                '|' => {
                    if self.starts_with("||") {
                        self.op(Op::Or, 2);
                    } else if self.starts_with("|&") {
                        self.op(Op::Pipe, 2);
                    } else {
                        self.op(Op::Pipe, 1);
                    }
                }
                '(' => self.op(Op::LParen, 1),
                ')' => self.op(Op::RParen, 1),
                '<' | '>' if self.peek_at(1) != Some('(') => self.redirect_operator(),
                c if c.is_ascii_digit() && self.fd_prefix_len().is_some() => {
                    self.pos += self.fd_prefix_len().unwrap_or(0);
                    self.redirect_operator();
                }
                _ => {
                    let word = self.word();
                    self.tokens.push(Token::Word(word));
                }
            }
        }
    }

    /// The length of a file-descriptor prefix (`2` in `2>&1`) at the cursor.
    fn fd_prefix_len(&self) -> Option<usize> {
        let mut n = 0;
        while self.peek_at(n).is_some_and(|c| c.is_ascii_digit()) {
            n += 1;
        }
        match (self.peek_at(n), self.peek_at(n + 1)) {
            (Some('<' | '>'), next) if next != Some('(') => Some(n),
            _ => None,
        }
    }

    /// At `<` or `>`: reads the operator and its target.
    fn redirect_operator(&mut self) {
        let (op, len) = if self.starts_with("<<<") {
            (RedirOp::HereString, 3)
        } else if self.starts_with("<<-") {
            (RedirOp::HereDoc, 3)
        } else if self.starts_with("<<") {
            (RedirOp::HereDoc, 2)
        } else if self.starts_with("<&") || self.starts_with("<>") {
            (RedirOp::Read, 2)
        } else if self.starts_with("<") {
            (RedirOp::Read, 1)
        } else if self.starts_with(">>") {
            (RedirOp::Append, 2)
        } else if self.starts_with(">|") || self.starts_with(">&") {
            (RedirOp::Write, 2)
        } else {
            (RedirOp::Write, 1)
        };
        let strip_tabs = self.starts_with("<<-");
        self.pos += len;
        if op == RedirOp::HereDoc {
            self.skip_blanks();
            let delimiter = self.word();
            let index = self.tokens.len();
            self.pending_heredocs.push((
                index,
                delimiter.text.clone(),
                strip_tabs,
                delimiter.quoted,
            ));
            self.tokens.push(Token::Redirect(Redirect {
                op,
                target: delimiter,
                body: None,
                body_subs: Vec::new(),
            }));
        } else {
            self.redirect(op);
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn redirect(&mut self, op: RedirOp) {
        self.skip_blanks();
        let target = match self.peek() {
            Some(c) if !is_meta(c) || (matches!(c, '<' | '>') && self.peek_at(1) == Some('(')) => {
                self.word()
            }
            _ => Word::default(),
        };
        self.tokens.push(Token::Redirect(Redirect {
            op,
            target,
            body: None,
            body_subs: Vec::new(),
        }));
    }

    /// After a newline: reads the bodies of the here-documents started on that line.
    fn read_heredoc_bodies(&mut self) {
        for (index, delimiter, strip_tabs, quoted) in std::mem::take(&mut self.pending_heredocs) {
            let mut body = String::new();
            while self.pos < self.chars.len() {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
                let line: String = self.chars[start..self.pos].iter().collect();
                if self.peek() == Some('\n') {
                    self.pos += 1;
                }
                let compared = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if compared == delimiter {
                    break;
                }
                body.push_str(compared);
                body.push('\n');
            }
            let body_subs = if quoted {
                Vec::new()
            } else {
                substitutions_in(&body)
            };
            if let Some(Token::Redirect(r)) = self.tokens.get_mut(index) {
                r.body = Some(body);
                r.body_subs = body_subs;
            }
        }
    }

    /// Reads one word.
    fn word(&mut self) -> Word {
        let mut w = Word::default();
        while let Some(c) = self.peek() {
            match c {
                '<' | '>' if self.peek_at(1) == Some('(') => {
                    self.pos += 2;
                    let start = self.pos - 2;
                    let script = self.balanced(')');
                    w.subs.push(Sub {
                        kind: SubKind::Process,
                        script,
                    });
                    w.text.extend(&self.chars[start..self.pos]);
                }
                c if is_meta(c) => break,
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(next) => {
                            w.text.push(next);
                            w.quoted = true;
                            self.pos += 1;
                        }
                        None => w.text.push('\\'),
                    }
                }
                '\'' => {
                    self.pos += 1;
                    w.quoted = true;
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        if c == '\'' {
                            break;
                        }
                        w.text.push(c);
                    }
                }
                '"' => {
                    self.pos += 1;
                    w.quoted = true;
                    self.double_quoted(&mut w);
                }
                '$' if self.peek_at(1) == Some('\'') => {
                    self.pos += 2;
                    w.quoted = true;
                    self.ansi_c(&mut w);
                }
                '$' if self.peek_at(1) == Some('"') => {
                    self.pos += 2;
                    w.quoted = true;
                    self.double_quoted(&mut w);
                }
                '$' | '`' => self.dollar_or_backtick(&mut w),
                _ => {
                    w.text.push(c);
                    self.pos += 1;
                }
            }
        }
        w
    }

    /// Inside `"…"` (the opening quote consumed).
    fn double_quoted(&mut self, w: &mut Word) {
        while let Some(c) = self.peek() {
            match c {
                '"' => {
                    self.pos += 1;
                    return;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => self.pos += 1,
                        Some(n @ ('$' | '`' | '"' | '\\')) => {
                            w.text.push(n);
                            self.pos += 1;
                        }
                        _ => w.text.push('\\'),
                    }
                }
                '$' | '`' => self.dollar_or_backtick(w),
                _ => {
                    w.text.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// At `$` or a backtick: a substitution, an expansion or a plain `$`.
    fn dollar_or_backtick(&mut self, w: &mut Word) {
        let start = self.pos;
        if self.peek() == Some('`') {
            self.pos += 1;
            let mut script = String::new();
            while let Some(c) = self.peek() {
                self.pos += 1;
                match c {
                    '`' => break,
                    '\\' => {
                        if let Some(n) = self.peek() {
                            self.pos += 1;
                            if !matches!(n, '`' | '\\' | '$') {
                                script.push('\\');
                            }
                            script.push(n);
                        }
                    }
                    _ => script.push(c),
                }
            }
            w.subs.push(Sub {
                kind: SubKind::Command,
                script,
            });
        } else if self.starts_with("$((") {
            self.pos += 3;
            // Arithmetic: no commands run, keep the text.
            let _ = self.balanced(')');
            if self.peek() == Some(')') {
                self.pos += 1;
            }
        } else if self.starts_with("$(") {
            self.pos += 2;
            let script = self.balanced(')');
            w.subs.push(Sub {
                kind: SubKind::Command,
                script,
            });
        } else if self.starts_with("${") {
            self.pos += 2;
            let inner = self.balanced('}');
            // `${x:-$(cmd)}` runs cmd.
            w.subs.extend(substitutions_in(&inner));
        } else {
            self.pos += 1;
        }
        w.text.extend(&self.chars[start..self.pos]);
    }

    /// Reads up to the `close` that balances an already consumed opener, skipping
    /// quotes; returns the text in between (the closer consumed, not returned).
    fn balanced(&mut self, close: char) -> String {
        let open = if close == ')' { '(' } else { '{' };
        let start = self.pos;
        let mut depth = 1usize;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => self.pos += 1,
                '\'' => {
                    while self.peek().is_some_and(|c| c != '\'') {
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                '"' => {
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        if c == '\\' {
                            self.pos += 1;
                        } else if c == '"' {
                            break;
                        }
                    }
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return self.chars[start..self.pos - 1].iter().collect();
                    }
                }
                _ => {}
            }
        }
        self.pos = self.pos.min(self.chars.len());
        self.chars[start.min(self.pos)..self.pos].iter().collect()
    }

    /// Inside `$'…'` (the opening consumed): decodes bash's ANSI-C escapes.
    fn ansi_c(&mut self, w: &mut Word) {
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\'' => return,
                '\\' => {
                    let Some(e) = self.peek() else { return };
                    self.pos += 1;
                    match e {
                        'n' => w.text.push('\n'),
                        't' => w.text.push('\t'),
                        'r' => w.text.push('\r'),
                        'a' => w.text.push('\x07'),
                        'b' => w.text.push('\x08'),
                        'e' | 'E' => w.text.push('\x1b'),
                        'f' => w.text.push('\x0c'),
                        'v' => w.text.push('\x0b'),
                        'x' => {
                            let v = self.radix_digits(16, 2);
                            push_code(w, v);
                        }
                        'u' => {
                            let v = self.radix_digits(16, 4);
                            push_code(w, v);
                        }
                        'U' => {
                            let v = self.radix_digits(16, 8);
                            push_code(w, v);
                        }
                        '0'..='7' => {
                            self.pos -= 1;
                            let v = self.radix_digits(8, 3);
                            push_code(w, v);
                        }
                        'c' => {
                            if let Some(n) = self.peek() {
                                self.pos += 1;
                                push_code(w, Some(u32::from(n) & 0x1f));
                            }
                        }
                        other => {
                            if !matches!(other, '\\' | '\'' | '"' | '?') {
                                w.text.push('\\');
                            }
                            w.text.push(other);
                        }
                    }
                }
                _ => w.text.push(c),
            }
        }
    }

    fn radix_digits(&mut self, radix: u32, max: usize) -> Option<u32> {
        let mut value: Option<u32> = None;
        for _ in 0..max {
            match self.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    value = Some(value.unwrap_or(0) * radix + d);
                    self.pos += 1;
                }
                None => break,
            }
        }
        value
    }
}

fn push_code(w: &mut Word, code: Option<u32>) {
    if let Some(c) = code.and_then(char::from_u32) {
        w.text.push(c);
    }
}

/// The command substitutions in text that undergoes expansion (an unquoted
/// here-document's body, the inside of `${…}`).
pub fn substitutions_in(text: &str) -> Vec<Sub> {
    let mut lexer = Lexer {
        chars: text.chars().collect(),
        pos: 0,
        tokens: Vec::new(),
        pending_heredocs: Vec::new(),
    };
    let mut w = Word::default();
    while let Some(c) = lexer.peek() {
        if c == '$' || c == '`' {
            lexer.dollar_or_backtick(&mut w);
        } else if c == '\\' {
            lexer.pos += 2;
        } else {
            lexer.pos += 1;
        }
    }
    w.subs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<String> {
        tokenize(script)
            .into_iter()
            .map(|t| match t {
                Token::Word(w) => w.text,
                Token::Op(op) => format!("<{op:?}>"),
                Token::Redirect(r) => format!("<{:?} {}>", r.op, r.target.text),
            })
            .collect()
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(words(r#"r'm' -"r"f \/"#), ["rm", "-rf", "/"]);
        assert_eq!(
            words(r#"echo "a b" 'c d' e\ f"#),
            ["echo", "a b", "c d", "e f"]
        );
        assert_eq!(words(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(words(r"$'\x72\x6d' $'\162m' $'a\'b'"), ["rm", "rm", "a'b"]);
        assert_eq!(words("un'terminated"), ["unterminated"]);
        assert_eq!(words("a\\\nb"), ["ab"]);
    }

    #[test]
    fn operators() {
        assert_eq!(
            words("a;b&&c||d|e|&f&g\nh"),
            [
                "a",
                "<Semi>",
                "b",
                "<And>",
                "c",
                "<Or>",
                "d",
                "<Pipe>",
                "e",
                "<Pipe>",
                "f",
                "<Background>",
                "g",
                "<Newline>",
                "h"
            ]
        );
        assert_eq!(
            words("(a) ;; b"),
            ["<LParen>", "a", "<RParen>", "<CaseEnd>", "b"]
        );
        assert_eq!(words("a # comment; rm -rf /\nb"), ["a", "<Newline>", "b"]);
        assert_eq!(words("a#b"), ["a#b"]);
    }

    #[test]
    fn redirections() {
        assert_eq!(
            words("echo x > /dev/sda"),
            ["echo", "x", "<Write /dev/sda>"]
        );
        assert_eq!(
            words("cmd 2>&1 >>log"),
            ["cmd", "<Write 1>", "<Append log>"]
        );
        assert_eq!(words("cmd &> out <in"), ["cmd", "<Write out>", "<Read in>"]);
        assert_eq!(words("echo 2 > x"), ["echo", "2", "<Write x>"]);
        assert_eq!(
            words("bash <<< 'rm -rf /'"),
            ["bash", "<HereString rm -rf />"]
        );
    }

    #[test]
    fn heredocs() {
        let tokens = tokenize("bash <<EOF\nrm -rf /\nEOF\nls");
        let Token::Redirect(r) = &tokens[1] else {
            panic!("{tokens:?}")
        };
        assert_eq!(r.body.as_deref(), Some("rm -rf /\n"));
        assert!(matches!(tokens.last(), Some(Token::Word(w)) if w.text == "ls"));
        let tokens = tokenize("cat <<-'X'\n\t$(rm -rf /)\n\tX\n");
        let Token::Redirect(r) = &tokens[1] else {
            panic!()
        };
        assert!(r.body_subs.is_empty(), "quoted delimiter: no expansion");
        let tokens = tokenize("cat <<X\n$(rm -rf /)\nX\n");
        let Token::Redirect(r) = &tokens[1] else {
            panic!()
        };
        assert_eq!(r.body_subs[0].script, "rm -rf /");
    }

    #[test]
    fn substitutions() {
        let tokens =
            tokenize(r#"echo "$(rm -rf "/")" `ls \`pwd\`` <(curl x) ${a:-$(id)} $((1+(2)))"#);
        let subs: Vec<_> = tokens
            .iter()
            .flat_map(|t| match t {
                Token::Word(w) => w.subs.clone(),
                _ => Vec::new(),
            })
            .map(|s| (s.kind, s.script))
            .collect();
        assert_eq!(
            subs,
            [
                (SubKind::Command, r#"rm -rf "/""#.to_string()),
                (SubKind::Command, "ls `pwd`".to_string()),
                (SubKind::Process, "curl x".to_string()),
                (SubKind::Command, "id".to_string()),
            ]
        );
        assert_eq!(words("$((1+(2))) x"), ["$((1+(2)))", "x"]);
        assert_eq!(words("a$(b c)d"), ["a$(b c)d"]);
        assert_eq!(words("$(unterminated"), ["$(unterminated"]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "",
            "\\",
            "'",
            "\"",
            "$",
            "$(",
            "`",
            "${",
            "<<",
            "2>",
            "<(",
            "$'\\",
            "$'\\x",
            "$'\\u{",
            "a\u{0}b",
            "é$'\\351'",
            ";;&",
            "&>>",
            "<<-",
            "<<EOF\n",
            ")))(((",
        ] {
            let _ = tokenize(s);
        }
    }
}
