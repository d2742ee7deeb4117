//! Where `check` reads requests from: standard input or a file, one request per line (JSON
//! Lines), or a file holding one request.
//!
//! Lines are read as bytes, each bounded in length, so one bad line (not UTF-8, far too
//! long) is that line's error and the stream goes on; a UTF-8 byte order mark at the start is
//! skipped. A file is opened through [`lampart::files`]: regular files only, and a file that
//! holds one request is bounded in size. A stream is never read whole into memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use lampart::files::{self, FileError, FileProblem};
use lampart::request::Request;

/// The longest line read as a request: 16 MiB. A longer line is refused as that line's
/// error, without being held in memory.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// How much is read from the input at a time.
const READ_BUFFER: usize = 64 << 10;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// One line of input: its 0-based index, and its text or why it cannot be a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's index in the input, counting blank lines (0-based).
    pub index: usize,
    /// The line's text without its line ending, or what is wrong with it.
    pub text: Result<String, String>,
}

impl Line {
    /// Whether the line holds nothing but white space (and so is skipped).
    pub fn is_blank(&self) -> bool {
        self.text.as_ref().is_ok_and(|text| text.trim().is_empty())
    }
}

/// Reads lines of bytes, each at most a given length, from a buffered reader.
pub struct LineReader<R> {
    reader: BufReader<R>,
    max_line: usize,
    next_index: usize,
    buf: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    /// Reads lines of at most `max_line` bytes (line ending excluded) from `reader`.
    pub fn new(reader: R, max_line: usize) -> Self {
        LineReader {
            reader: BufReader::with_capacity(READ_BUFFER, reader),
            max_line,
            next_index: 0,
            buf: Vec::new(),
        }
    }

    /// The next line, or `None` at the end of the input. An error is a failure to read the
    /// input at all; a line that cannot be a request is a [`Line`] with an error.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.buf.clear();
        // The line ending is allowed on top of `max_line`.
        let limit = self.max_line as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        let index = self.next_index;
        self.next_index += 1;
        if self.buf.len() > self.max_line && !self.buf.ends_with(b"\n") {
            // Skip the rest of the line without keeping it.
            self.reader.skip_until(b'\n')?;
            return Ok(Some(Line {
                index,
                text: Err(format!(
                    "line longer than the limit of {} bytes",
                    self.max_line
                )),
            }));
        }
        let mut bytes = &self.buf[..];
        if index == 0 {
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        }
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(err) => Err(format!(
                "not UTF-8 text (invalid byte at offset {})",
                err.valid_up_to()
            )),
        };
        Ok(Some(Line { index, text }))
    }

    /// Whether everything read so far has been handed out, so that the next line may have
    /// to wait for the input (a pipe or a terminal) to send more.
    pub fn drained(&self) -> bool {
        self.reader.buffer().is_empty()
    }
}

/// Where requests come from.
pub enum Source {
    /// One request per line: standard input, or a JSON Lines file.
    Lines {
        /// The input's name, for messages: `stdin` or the file's path.
        name: String,
        /// A line already read to find out what the file holds, handed out first.
        peeked: Vec<Line>,
        /// The rest of the input.
        reader: LineReader<Box<dyn Read + Send>>,
    },
    /// A file holding one request (a JSON object, possibly over many lines).
    Single {
        /// The file's path, for messages.
        name: String,
        /// The request's text, or what is wrong with it.
        text: Result<String, String>,
    },
}

impl Source {
    /// Standard input, one request per line.
    pub fn stdin() -> Source {
        Source::Lines {
            name: "stdin".into(),
            peeked: Vec::new(),
            reader: LineReader::new(Box::new(io::stdin()), MAX_LINE_BYTES),
        }
    }

    /// A request file. A file whose first non-blank line is a JSON value on its own (or is
    /// not text at all) holds one request per line; any other file holds one request, and
    /// is read whole up to [`files::MAX_REQUEST_FILE_BYTES`].
    ///
    /// # Errors
    ///
    /// The path does not name a regular file, cannot be read, or holds one request larger
    /// than the limit.
    pub fn file(path: &Path) -> Result<Source, FileError> {
        let fail = |problem: FileProblem| FileError {
            path: path.to_path_buf(),
            problem,
        };
        let file = files::open_regular(path)?;
        let clone = file.try_clone().map_err(|e| fail(e.into()))?;
        let mut reader = LineReader::new(Box::new(clone) as Box<dyn Read + Send>, MAX_LINE_BYTES);
        // Blank lines are skipped wherever they are; the reader still counts them.
        let first = loop {
            match reader.next_line().map_err(|e| fail(e.into()))? {
                Some(line) if line.is_blank() => continue,
                other => break other,
            }
        };
        let lines = first.as_ref().is_some_and(|line| match &line.text {
            Ok(text) => serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
            Err(_) => true,
        });
        let name = path.display().to_string();
        if lines {
            return Ok(Source::Lines {
                name,
                peeked: first.into_iter().collect(),
                reader,
            });
        }
        Ok(Source::Single {
            name,
            text: read_single(file, path)?,
        })
    }

    /// The input's name, for messages.
    pub fn name(&self) -> &str {
        match self {
            Source::Lines { name, .. } | Source::Single { name, .. } => name,
        }
    }

    /// Whether messages about a request name its line.
    pub fn numbered(&self) -> bool {
        matches!(self, Source::Lines { .. })
    }
}

impl Source {
    /// Hands every non-blank line to `each`, in input order, in batches of at most `batch`
    /// lines, until the input ends or `each` returns `false`. A batch is handed over early
    /// when nothing more is ready to be read: a request written to a pipe is answered without
    /// waiting for more input, while a file is still read in full batches.
    ///
    /// # Errors
    ///
    /// The input could not be read (after handing over every line read before).
    pub fn for_each_batch(
        self,
        batch: usize,
        mut each: impl FnMut(Vec<Line>) -> bool,
    ) -> anyhow::Result<()> {
        let (name, peeked, mut reader) = match self {
            Source::Single { text, .. } => {
                each(vec![Line { index: 0, text }]);
                return Ok(());
            }
            Source::Lines {
                name,
                peeked,
                reader,
            } => (name, peeked, reader),
        };
        let batch = batch.max(1);
        let mut lines = peeked;
        loop {
            let line = match reader.next_line() {
                Ok(line) => line,
                Err(err) => {
                    if !lines.is_empty() {
                        each(lines);
                    }
                    return Err(anyhow::Error::new(err).context(format!("reading {name}")));
                }
            };
            let Some(line) = line else { break };
            if !line.is_blank() {
                lines.push(line);
            }
            if lines.len() >= batch || (!lines.is_empty() && reader.drained()) {
                let full = std::mem::replace(&mut lines, Vec::with_capacity(batch));
                if !each(full) {
                    return Ok(());
                }
            }
        }
        if !lines.is_empty() {
            each(lines);
        }
        Ok(())
    }
}

/// Reads the one request of a request file, or of standard input for `-`, as `check` reads
/// them: a file holding one request, or one line of JSON.
///
/// # Errors
///
/// One line naming the input: it cannot be read, holds no request or more than one, or its
/// request is not valid.
pub fn one_request(path: &Path) -> anyhow::Result<Request> {
    let source = if path.as_os_str() == "-" {
        Source::stdin()
    } else {
        Source::file(path).map_err(|err| anyhow::anyhow!("request file {err}"))?
    };
    let name = source.name().to_owned();
    let numbered = source.numbered();
    let mut lines = Vec::new();
    source.for_each_batch(2, |batch| {
        lines.extend(batch);
        lines.len() < 2
    })?;
    let line = match lines.as_slice() {
        [line] => line,
        [] => anyhow::bail!("request {name}: holds no request"),
        _ => anyhow::bail!("request {name}: holds more than one request; give one"),
    };
    let place = if numbered {
        format!("{name} line {}", line.index + 1)
    } else {
        name
    };
    let text = line
        .text
        .as_deref()
        .map_err(|message| anyhow::anyhow!("request {place}: {message}"))?;
    Request::from_json(text).map_err(|err| anyhow::anyhow!("request {place}: {err}"))
}

/// Reads a file holding one request, from its start, up to the size limit.
fn read_single(mut file: File, path: &Path) -> Result<Result<String, String>, FileError> {
    let fail = |problem: FileProblem| FileError {
        path: PathBuf::from(path),
        problem,
    };
    let limit = files::MAX_REQUEST_FILE_BYTES;
    file.rewind().map_err(|e| fail(e.into()))?;
    let mut bytes = Vec::new();
    // The file may grow while it is read: never take more than the limit plus one byte.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.into()))?;
    if bytes.len() as u64 > limit {
        return Err(fail(FileProblem::TooLarge(limit)));
    }
    let text = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    Ok(match std::str::from_utf8(text) {
        Ok(text) => Ok(text.to_owned()),
        Err(err) => Err(format!(
            "not UTF-8 text (invalid byte at offset {})",
            err.valid_up_to()
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max_line: usize) -> Vec<Line> {
        let mut reader = LineReader::new(input, max_line);
        std::iter::from_fn(|| reader.next_line().unwrap()).collect()
    }

    fn ok(index: usize, text: &str) -> Line {
        Line {
            index,
            text: Ok(text.into()),
        }
    }

    #[test]
    fn a_bad_line_is_that_line_s_error_and_the_lines_around_it_survive() {
        let input = b"\xef\xbb\xbf{\"a\":1}\r\n\xff\xfe bad\n\n{\"b\":2}\n0123456789abc\n{\"c\":3}";
        // The limit counts the line's bytes as read, BOM and carriage return included.
        let read = lines(input, 12);
        assert_eq!(read.len(), 6, "{read:?}");
        assert_eq!(
            read[0],
            ok(0, "{\"a\":1}"),
            "one BOM and the CRLF are stripped"
        );
        assert_eq!(
            read[1].text,
            Err("not UTF-8 text (invalid byte at offset 0)".into())
        );
        assert!(read[2].is_blank());
        assert_eq!(read[3], ok(3, "{\"b\":2}"));
        assert_eq!(
            read[4].text,
            Err("line longer than the limit of 12 bytes".into())
        );
        assert_eq!(
            read[5],
            ok(5, "{\"c\":3}"),
            "the long line is skipped whole"
        );
    }

    #[test]
    fn only_a_leading_bom_is_stripped_and_a_line_at_the_limit_is_kept() {
        let read = lines(b"0123456789\n\xef\xbb\xbfx\n", 10);
        assert_eq!(read[0], ok(0, "0123456789"));
        assert_eq!(read[1], ok(1, "\u{feff}x"));
    }

    #[test]
    fn a_batch_is_handed_over_when_nothing_more_is_ready() {
        // A reader that returns one line per read, as a pipe fed line by line does.
        struct OneLineAtATime(Vec<&'static [u8]>);
        impl Read for OneLineAtATime {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.first() {
                    None => Ok(0),
                    Some(line) => {
                        let n = line.len().min(buf.len());
                        buf[..n].copy_from_slice(&line[..n]);
                        self.0.remove(0);
                        Ok(n)
                    }
                }
            }
        }
        let source = Source::Lines {
            name: "stdin".into(),
            peeked: Vec::new(),
            reader: LineReader::new(
                Box::new(OneLineAtATime(vec![b"1\n", b"2\n3\n", b"\n4\n"])),
                MAX_LINE_BYTES,
            ),
        };
        let mut batches = Vec::new();
        source
            .for_each_batch(64, |batch| {
                batches.push(batch.into_iter().map(|l| l.index).collect::<Vec<_>>());
                true
            })
            .unwrap();
        assert_eq!(batches, vec![vec![0], vec![1, 2], vec![4]]);
    }

    #[test]
    fn a_file_of_lines_is_streamed_and_a_pretty_request_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        std::fs::write(&path, b"\xef\xbb\xbf\n{\"a\":1}\n\xff\n{\"b\":2}\n").unwrap();
        let source = Source::file(&path).unwrap();
        assert!(source.numbered());
        let mut read = Vec::new();
        source
            .for_each_batch(64, |batch| {
                read.extend(batch);
                true
            })
            .unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read[0], ok(1, "{\"a\":1}"));
        assert!(read[1].text.is_err());
        assert_eq!(read[2], ok(3, "{\"b\":2}"));

        std::fs::write(&path, b"\xef\xbb\xbf{\n  \"a\": 1\n}\n").unwrap();
        match Source::file(&path).unwrap() {
            Source::Single { text, .. } => assert_eq!(text.unwrap(), "{\n  \"a\": 1\n}\n"),
            Source::Lines { .. } => panic!("a pretty-printed request is one request"),
        }
    }
}
