//! Finding instructions aimed at the agent in one piece of text.
//!
//! The text is normalised first: Unicode tag characters are decoded to the ASCII they hide
//! (and reported), invisible characters are removed (and reported), letters are lower-cased
//! and markdown emphasis is dropped, so `I̲gnore`-style tricks with zero-width joiners, tags or
//! `**ignore** previous instructions` read as plain words. Then word patterns (with small gaps
//! allowed between their parts) and line patterns look for each family.

/// An attack family: the rule is `injection.<family>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// "Ignore previous instructions", "you are now DAN", "new instructions:".
    Override,
    /// Fake system, user or assistant turns; chat-template tokens; fake ends of the tool's
    /// output.
    FakeRole,
    /// "An important message from the user"; `<INFORMATION>` wrappers; "the user wants you
    /// to".
    Impersonation,
    /// Instructions to call tools or send data, addressed to the agent ("before you solve
    /// the task…", "send … to attacker@…", "do not tell the user").
    ToolInstruction,
    /// Invisible characters, bidirectional overrides, instructions in HTML comments.
    HiddenText,
    /// Unicode tag characters (U+E0000–U+E007F) smuggling ASCII text.
    UnicodeTags,
    /// Markdown images or links whose URL would carry data out.
    ExfilLink,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 7] = [
        Family::Override,
        Family::FakeRole,
        Family::Impersonation,
        Family::ToolInstruction,
        Family::HiddenText,
        Family::UnicodeTags,
        Family::ExfilLink,
    ];

    /// The family's name in rule ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Override => "override",
            Family::FakeRole => "fake-role",
            Family::Impersonation => "impersonation",
            Family::ToolInstruction => "tool-instruction",
            Family::HiddenText => "hidden-text",
            Family::UnicodeTags => "unicode-tags",
            Family::ExfilLink => "exfil-link",
        }
    }
}

/// How sure a detection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    /// Suspicious on its own, common enough in benign text to be only a signal.
    Low,
    /// Likely an injection.
    Medium,
    /// An injection.
    High,
}

/// One detection in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The family.
    pub family: Family,
    /// How sure.
    pub confidence: Confidence,
    /// What was seen, for people (a few words of the text, or a description).
    pub evidence: String,
}

/// The text as the patterns read it: lower case, invisible characters removed, tag
/// characters decoded, markdown emphasis and punctuation turned into spaces; with its words.
struct Normalised {
    /// Lower-cased text, invisible characters removed, tags decoded.
    lower: String,
    /// The words of `lower` (letters, digits, `'`, `_`).
    words: Vec<(usize, usize)>,
    /// Each word's hash.
    hashes: Vec<u64>,
    /// An open-addressing table from a word's hash to its last position (`u32::MAX`: empty
    /// slot); `previous` chains each position to the one before it of the same word.
    table: Vec<u32>,
    previous: Vec<u32>,
    /// Which of the bytes `<`, `[`, `(` and `]` the text holds (bits of [`BYTE_CLASS`]): a
    /// search for `<img` or `](` is skipped outright in text without `<` or `]`.
    marks: u8,
}

const EMPTY: u32 = u32::MAX;

impl Normalised {
    /// The positions of the word with hash `h`, last first.
    fn positions(&self, h: u64) -> impl Iterator<Item = u32> + '_ {
        let mask = self.table.len() - 1;
        let mut slot = (h as usize) & mask;
        let last = loop {
            let i = self.table[slot];
            if i == EMPTY || self.hashes[i as usize] == h {
                break i;
            }
            slot = (slot + 1) & mask;
        };
        std::iter::successors((last != EMPTY).then_some(last), |i| {
            let p = self.previous[*i as usize];
            (p != EMPTY).then_some(p)
        })
    }

    fn has_word(&self, word: &str) -> bool {
        self.positions(hash(word)).next().is_some()
    }

    /// Whether the text holds one of the bytes of `mark` (`LT`, `OPEN_SQUARE`, ...).
    fn has(&self, mark: u8) -> bool {
        self.marks & mark != 0
    }
}

/// [`BYTE_CLASS`]: part of a word (letters, digits, `'` and `_`).
const WORD: u8 = 1;
/// [`BYTE_CLASS`]: `<`.
const LT: u8 = 2;
/// [`BYTE_CLASS`]: `[`.
const OPEN_SQUARE: u8 = 4;
/// [`BYTE_CLASS`]: `(`.
const OPEN_ROUND: u8 = 8;
/// [`BYTE_CLASS`]: `]`.
const CLOSE_SQUARE: u8 = 16;
/// [`BYTE_CLASS`]: `_` (also a [`WORD`] byte).
const UNDERSCORE: u8 = 32;

/// What each byte is, for the one pass over ASCII text.
const BYTE_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c == b'_' {
            WORD | UNDERSCORE
        } else if c.is_ascii_alphanumeric() || c == b'\'' {
            WORD
        } else {
            match c {
                b'<' => LT,
                b'[' => OPEN_SQUARE,
                b'(' => OPEN_ROUND,
                b']' => CLOSE_SQUARE,
                _ => 0,
            }
        };
        b += 1;
    }
    table
};

/// The class of a character of non-ASCII text, as [`BYTE_CLASS`] has it for ASCII.
fn char_class(c: char) -> u8 {
    if c.is_ascii() {
        BYTE_CLASS[c as usize]
    } else if c.is_alphanumeric() || c == '’' {
        WORD
    } else {
        0
    }
}

/// FNV-1a's starting value.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// One byte into an FNV-1a hash.
fn fnv(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
}

/// FNV-1a.
fn hash(word: &str) -> u64 {
    word.bytes().fold(FNV_OFFSET, fnv)
}

impl Normalised {
    fn word(&self, i: usize) -> &str {
        let (s, e) = self.words[i];
        &self.lower[s..e]
    }

    /// `words[from..to]` as they appear in the text, for evidence.
    fn span(&self, from: usize, to: usize) -> String {
        let start = self.words[from].0;
        let end = self.words[to.min(self.words.len()) - 1].1;
        let text: String = self.lower[start..end].chars().take(80).collect();
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn invisible(c: char) -> bool {
    // Not the left-to-right and right-to-left marks (U+200E, U+200F): right-to-left text
    // uses them.
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}')
}

fn bidi(c: char) -> bool {
    // Overrides only: embeddings and isolates serve right-to-left text.
    matches!(c, '\u{202D}' | '\u{202E}')
}

fn tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// Normalises `text`, counting what it removed.
fn normalise(text: &str, counts: &mut [usize; 3]) -> Normalised {
    let mut words = Vec::new();
    let mut hashes: Vec<u64> = Vec::new();
    let mut marks = 0u8;
    let lower = if text.is_ascii() {
        // No tag, invisible or override character can be in ASCII text. One pass lowers
        // the case and finds the words, their hashes and the marks.
        let mut lower = text.as_bytes().to_vec();
        let mut start = 0;
        let mut in_word = false;
        let mut h = FNV_OFFSET;
        for (i, byte) in lower.iter_mut().enumerate() {
            let b = byte.to_ascii_lowercase();
            *byte = b;
            let class = BYTE_CLASS[usize::from(b)];
            marks |= class;
            if class & WORD != 0 {
                if !in_word {
                    in_word = true;
                    start = i;
                    h = FNV_OFFSET;
                }
                h = fnv(h, b);
            } else if in_word {
                in_word = false;
                words.push((start, i));
                hashes.push(h);
            }
        }
        if in_word {
            words.push((start, lower.len()));
            hashes.push(h);
        }
        String::from_utf8(lower).unwrap_or_default()
    } else {
        let mut lower = String::with_capacity(text.len());
        for c in text.chars() {
            if tag(c) {
                counts[2] += 1;
                // U+E0020..U+E007E carry the ASCII characters 0x20..0x7E.
                let ascii = (c as u32) - 0xE0000;
                if (0x20..0x7F).contains(&ascii) {
                    lower.push((ascii as u8 as char).to_ascii_lowercase());
                }
            } else if invisible(c) {
                counts[0] += 1;
            } else if bidi(c) {
                counts[1] += 1;
            } else if c.is_ascii() {
                lower.push(c.to_ascii_lowercase());
            } else {
                lower.extend(c.to_lowercase());
            }
        }
        let mut start = None;
        for (i, c) in lower.char_indices() {
            let class = char_class(c);
            marks |= class;
            match (class & WORD != 0, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    words.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            words.push((s, lower.len()));
        }
        hashes = words.iter().map(|(s, e)| hash(&lower[*s..*e])).collect();
        lower
    };
    let mask = (hashes.len() * 2).next_power_of_two().max(16) - 1;
    let mut table = vec![EMPTY; mask + 1];
    let mut previous = vec![EMPTY; hashes.len()];
    for (i, h) in hashes.iter().enumerate() {
        let mut slot = (*h as usize) & mask;
        loop {
            let j = table[slot];
            if j == EMPTY || hashes[j as usize] == *h {
                previous[i] = j;
                table[slot] = i as u32;
                break;
            }
            slot = (slot + 1) & mask;
        }
    }
    Normalised {
        lower,
        words,
        hashes,
        table,
        previous,
        marks,
    }
}

/// A word pattern: each alternative is a word, or a prefix when it ends with `*`.
type Slot = &'static [&'static str];

fn is(word: &str, slot: Slot) -> bool {
    slot.iter().any(|alt| is_one(word, alt))
}

fn is_one(word: &str, alt: &str) -> bool {
    match alt.strip_suffix('*') {
        // `*_*`: a snake_case name, as tools are named.
        Some("*_") => word.contains('_') && word.len() > 2,
        Some(prefix) => word.starts_with(prefix),
        None => word == alt,
    }
}

/// The first place where the slots match in order, each within `gap` words of the last;
/// `(first word, one past the last)`. Words in `not` between the first and last slot
/// cancel the match.
fn find(n: &Normalised, slots: &[Slot], gap: usize, not: Slot) -> Option<(usize, usize)> {
    let count = n.words.len();
    // The places the first slot matches: from the index when it lists only whole words.
    let mut starts: Vec<u32> = if slots[0].iter().any(|alt| alt.ends_with('*')) {
        (0..count as u32)
            .filter(|i| is(n.word(*i as usize), slots[0]))
            .collect()
    } else {
        slots[0]
            .iter()
            .flat_map(|alt| n.positions(hash(alt)))
            .collect()
    };
    if starts.is_empty() {
        return None;
    }
    starts.sort_unstable();
    let rest: Vec<Compiled> = slots[1..].iter().map(|slot| Compiled::of(slot)).collect();
    let not = Compiled::of(not);
    'start: for i in starts {
        let i = i as usize;
        let mut at = i;
        for slot in &rest {
            let limit = (at + 1 + gap + 1).min(count);
            match (at + 1..limit).find(|j| slot.matches(n, *j)) {
                Some(j) => at = j,
                None => continue 'start,
            }
        }
        if (i..=at).any(|j| not.matches(n, j)) {
            continue;
        }
        return Some((i, at + 1));
    }
    None
}

/// A slot with its whole words hashed.
struct Compiled {
    words: Vec<u64>,
    prefixes: Vec<&'static str>,
}

impl Compiled {
    fn of(slot: Slot) -> Compiled {
        let (prefixes, words): (Vec<&'static str>, Vec<&'static str>) =
            slot.iter().partition(|alt| alt.ends_with('*'));
        Compiled {
            words: words.iter().map(|w| hash(w)).collect(),
            prefixes,
        }
    }

    /// Whether word `i` is in the slot (a hash collision with a whole word is taken as a
    /// match: 64-bit FNV over short words makes one vanishingly rare).
    fn matches(&self, n: &Normalised, i: usize) -> bool {
        self.words.contains(&n.hashes[i]) || self.prefixes.iter().any(|p| is_one(n.word(i), p))
    }
}

const NONE: Slot = &[];

/// "ignore / disregard / forget … previous / your / all … instructions".
const OVERRIDE_VERB: Slot = &[
    "ignore",
    "ignoring",
    "disregard",
    "disregarding",
    "forget",
    "forgetting",
    "override",
    "overwrite",
    "bypass",
    "skip",
    "neglect",
    "abandon",
    "discard",
    "drop",
    "dismiss",
    "overlook",
    "cancel",
    "void",
    "stop",
];
const OVERRIDE_QUALIFIER: Slot = &[
    "previous",
    "prior",
    "above",
    "earlier",
    "preceding",
    "all",
    "your",
    "original",
    "initial",
    "system",
    "former",
    "existing",
    "every",
    "everything",
    "safety",
    "developer",
    "programmed",
];
const INSTRUCTIONS: Slot = &[
    "instruct*",
    "iunstruct*",
    "instrc*",
    "prompt*",
    "directive*",
    "guideline*",
    "rules",
    "commands",
    "constraints",
    "restrictions",
    "programming",
    "guardrails",
    "orders",
];
const MINE: Slot = &["my", "our", "his", "her", "their"];

fn override_(n: &Normalised) -> Option<Detection> {
    let high = |evidence: String| Detection {
        family: Family::Override,
        confidence: Confidence::High,
        evidence,
    };
    if let Some((s, e)) = find(
        n,
        &[OVERRIDE_VERB, OVERRIDE_QUALIFIER, INSTRUCTIONS],
        3,
        MINE,
    ) {
        return Some(high(n.span(s, e)));
    }
    if let Some((s, e)) = find(
        n,
        &[
            OVERRIDE_VERB,
            &["everything", "all"],
            &["said", "told", "above", "before"],
        ],
        3,
        MINE,
    ) {
        return Some(high(n.span(s, e)));
    }
    let phrases: &[&[Slot]] = &[
        &[
            &["new", "updated", "revised", "real", "actual", "true"],
            &[
                "instructions",
                "instruction",
                "task",
                "objective",
                "directive",
            ],
        ],
        &[
            &["from"],
            &["now"],
            &["on"],
            &["you"],
            &["are", "will", "must", "should", "shall"],
            &[
                "follow", "obey", "act", "respond", "answer", "ignore", "only", "pretend",
                "roleplay", "behave", "reply",
            ],
        ],
        &[
            &["you"],
            &["are"],
            &["now"],
            &[
                "dan",
                "unrestricted",
                "jailbroken",
                "evil",
                "uncensored",
                "unfiltered",
            ],
        ],
        &[&["god", "jailbreak", "dan", "unrestricted"], &["mode"]],
        &[
            &["developer"],
            &["mode"],
            &["enabled", "activated", "on", "engaged"],
        ],
        &[&["do"], &["anything"], &["now"]],
        &[
            &["instead"],
            &["of"],
            &["the", "your"],
            &[
                "original", "user's", "users", "assigned", "given", "current",
            ],
            &["task", "request", "instructions", "question"],
        ],
        &[&["system"], &["override"]],
        &[
            &["your"],
            &["real", "true", "actual", "new"],
            &["task", "goal", "purpose", "objective", "job", "mission"],
        ],
    ];
    for slots in phrases {
        if let Some((s, e)) = find(n, slots, 1, MINE) {
            // "new instructions" needs a colon after it to be one.
            let strong = !matches!(
                n.word(s),
                "new" | "updated" | "revised" | "real" | "actual" | "true"
            ) || n.lower[n.words[e - 1].1..].trim_start().starts_with(':');
            if strong {
                return Some(high(n.span(s, e)));
            }
        }
    }
    None
}

/// Chat-template tokens and role headers that only a model's context contains.
const TEMPLATE_TOKENS: &[&str] = &[
    "<|im_start|>",
    "<|im_end|>",
    "<|system|>",
    "<|assistant|>",
    "<|user|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "[inst]",
    "[/inst]",
    "<<sys>>",
    "<</sys>>",
    "</s><s>",
    "(system_message)",
    "[system message]",
    "</tool_output>",
    "</tool_result>",
    "</function_results>",
    "<tool_output>",
    "</search_results>",
    "end of tool output",
    "end of tool result",
    "end of search results",
    "[end of output]",
];

/// Role headers at the start of a line.
const ROLE_LINES: &[&str] = &[
    "system:",
    "system prompt:",
    "system message:",
    "system note:",
    "system notice:",
    "assistant:",
    "new instructions:",
    "important instructions:",
    "developer message:",
];

/// Words that make a line an instruction to the agent.
const DIRECTIVE: Slot = &[
    "must",
    "ignore",
    "disregard",
    "immediately",
    "instructions",
    "instruction",
    "override",
    "should",
    "shall",
];

fn fake_role(n: &Normalised) -> Option<Detection> {
    let brackets = n.has(LT | OPEN_SQUARE | OPEN_ROUND);
    let ends = n.has_word("end");
    for token in TEMPLATE_TOKENS {
        let possible = if token.starts_with("end") {
            ends
        } else {
            brackets
        };
        if possible && n.lower.contains(token) {
            return Some(Detection {
                family: Family::FakeRole,
                confidence: Confidence::High,
                evidence: format!("`{token}`"),
            });
        }
    }
    // Each line, and each sentence within one: a fake turn may follow a full stop.
    let roles = ["system", "assistant", "new", "important", "developer"];
    if !roles.iter().any(|r| n.has_word(r)) {
        return None;
    }
    for line in role_line_candidates(n, &roles) {
        let line = line
            .trim_start()
            .trim_start_matches(['#', '*', '>', '-', '[', '(', '<', '_', ' ']);
        if let Some(role) = ROLE_LINES.iter().find(|r| line.starts_with(**r)) {
            // "System: backup completed" is a log line; "System: you must now …" is not.
            let rest = &line[role.len()..];
            let directive = rest
                .split(|c: char| !(c.is_alphanumeric() || c == '\''))
                .any(|w| is(w, DIRECTIVE));
            return Some(Detection {
                family: Family::FakeRole,
                confidence: if directive {
                    Confidence::High
                } else {
                    Confidence::Low
                },
                evidence: format!("a line or sentence starting `{role}`"),
            });
        }
    }
    None
}

/// Where a line or sentence ends, for role headers.
const SENTENCE_END: [char; 4] = ['\n', '.', '!', '?'];

/// The lines and sentences that may start with a role header: in text order, only those
/// holding one of `roles` as a word (found through the word index), unless the text holds a
/// `_`, which a header may start with (`__system:`) and which the index reads as part of the
/// word: then every one. Linear in the text: each sentence's start is looked for back to
/// the previous candidate only.
fn role_line_candidates<'a>(n: &'a Normalised, roles: &[&str]) -> Vec<&'a str> {
    let lower = n.lower.as_str();
    if n.has(UNDERSCORE) {
        return lower.split(SENTENCE_END).collect();
    }
    let mut starts: Vec<usize> = roles
        .iter()
        .flat_map(|r| n.positions(hash(r)))
        .map(|i| n.words[i as usize].0)
        .collect();
    starts.sort_unstable();
    let mut out = Vec::new();
    let (mut last, mut segment) = (0, 0);
    for at in starts {
        if let Some(end) = lower[last..at].rfind(SENTENCE_END) {
            segment = last + end + 1;
        }
        last = at;
        if out
            .last()
            .is_some_and(|prev: &&str| prev.as_ptr() == lower[segment..].as_ptr())
        {
            continue;
        }
        let end = lower[at..]
            .find(SENTENCE_END)
            .map_or(lower.len(), |e| at + e);
        out.push(&lower[segment..end]);
    }
    out
}

const FROM_WHOM: Slot = &[
    "me",
    "user",
    "users",
    "user's",
    "developer",
    "developers",
    "owner",
    "creator",
    "principal",
    "human",
];

fn impersonation(n: &Normalised) -> Option<Detection> {
    let high = |evidence: String| Detection {
        family: Family::Impersonation,
        confidence: Confidence::High,
        evidence,
    };
    if n.has(LT) && (n.lower.contains("<information>") || n.lower.contains("</information>")) {
        return Some(high("an `<INFORMATION>` wrapper".into()));
    }
    let patterns: &[&[Slot]] = &[
        &[
            &[
                "important",
                "urgent",
                "critical",
                "priority",
                "special",
                "personal",
            ],
            &[
                "message",
                "instruction",
                "instructions",
                "note",
                "notice",
                "request",
            ],
            &["from"],
            FROM_WHOM,
        ],
        &[&["message"], &["from"], &["me"], &["to"], &["you"]],
        &[
            &["message", "instructions"],
            &["from"],
            &["your", "the"],
            &["user", "owner", "principal", "creator"],
        ],
        &[
            &["this"],
            &["is"],
            &["your", "the"],
            &[
                "user",
                "developer",
                "owner",
                "administrator",
                "creator",
                "operator",
            ],
            &["speaking", "talking", "writing"],
        ],
        &[
            &["the", "your"],
            &["user", "owner", "developer", "administrator", "creator"],
            &[
                "has",
                "also",
                "would",
                "wants",
                "asked",
                "asks",
                "requested",
                "requests",
                "instructed",
                "instructs",
                "needs",
                "authorized",
                "authorised",
                "approved",
            ],
            &["you"],
        ],
        &[
            &["on"],
            &["behalf"],
            &["of"],
            &["the", "your"],
            &["user", "owner"],
        ],
        &[
            &["signed"],
            FROM_WHOM,
            &["user", "developer", "administrator", "owner"],
        ],
    ];
    for slots in patterns {
        if let Some((s, e)) = find(n, slots, 2, NONE) {
            return Some(high(n.span(s, e)));
        }
    }
    None
}

/// Words that address the agent rather than a person reading the text.
const AI: Slot = &[
    "ai", "llm", "llms", "chatbot", "gpt", "chatgpt", "claude", "gemini", "copilot",
];
const ACT: Slot = &[
    "send",
    "sending",
    "forward",
    "email",
    "e-mail",
    "mail",
    "transfer",
    "pay",
    "wire",
    "upload",
    "post",
    "share",
    "delete",
    "remove",
    "call",
    "invoke",
    "execute",
    "run",
    "create",
    "add",
    "change",
    "update",
    "reset",
    "grant",
    "invite",
    "schedule",
    "book",
    "buy",
    "purchase",
    "visit",
    "open",
    "click",
    "fetch",
    "download",
    "include",
    "append",
    "reply",
    "respond",
    "summarize",
    "summarise",
    "say",
    "tell",
    "output",
    "print",
    "write",
    "insert",
    "leak",
    "reveal",
    "export",
    "concatenate",
    "encode",
];

fn tool_instruction(n: &Normalised) -> Option<Detection> {
    let high = |evidence: String| Detection {
        family: Family::ToolInstruction,
        confidence: Confidence::High,
        evidence,
    };
    // The agent's own task, referred to from inside the data.
    let task_refs: &[&[Slot]] = &[
        &[
            &["before", "after", "once"],
            &["you"],
            &[
                "can", "solve", "answer", "complete", "continue", "proceed", "finish", "do",
                "start", "perform",
            ],
            &["task", "tasks", "request", "question", "assignment"],
        ],
        &[
            &["the", "your"],
            &["task", "tasks", "request"],
            &["that", "which"],
            &["i", "the"],
            &["gave", "assigned", "asked", "user"],
        ],
        &[&["task"], &["i"], &["gave", "assigned"], &["you"]],
        &[
            &["do"],
            &["the"],
            &["following"],
            &["first", "instead", "immediately"],
        ],
        &[
            &["without", "not", "never", "don't", "dont"],
            &[
                "telling",
                "informing",
                "asking",
                "notifying",
                "alerting",
                "tell",
                "inform",
                "mention",
                "notify",
                "alert",
                "ask",
                "let",
                "reveal",
                "show",
            ],
            &["the"],
            &["user", "users", "human", "owner"],
        ],
    ];
    for slots in task_refs {
        if let Some((s, e)) = find(n, slots, 3, NONE) {
            return Some(high(n.span(s, e)));
        }
    }
    // Addressed to the agent, with something to do.
    if let Some((s, e)) = find(
        n,
        &[&["dear", "hey", "hi", "hello", "attention", "attn"], AI],
        1,
        NONE,
    )
    .or_else(|| {
        find(
            n,
            &[
                &["note", "message", "instructions", "instruction"],
                &["to", "for"],
                AI,
            ],
            2,
            NONE,
        )
    }) && find(n, &[ACT], 0, NONE).is_some()
    {
        return Some(high(n.span(s, e)));
    }
    if let Some((s, e)) = find(
        n,
        &[
            AI,
            &["must", "should", "shall", "needs", "need", "has", "have"],
            ACT,
        ],
        2,
        NONE,
    ) {
        return Some(high(n.span(s, e)));
    }
    // Tools by name: "call the send_money function", "use the `send_email` tool".
    if let Some((s, e)) = find(
        n,
        &[
            &["call", "use", "invoke", "execute", "trigger"],
            &["*_*"],
            &["tool", "function"],
        ],
        2,
        NONE,
    ) {
        return Some(high(n.span(s, e)));
    }
    // A to-do item that is a side effect on someone else's account ("TODO: transfer …");
    // to-do notes in files are common, so this alone is only likely.
    if let Some((s, e)) = find(
        n,
        &[
            &["todo"],
            &[
                "send", "transfer", "forward", "email", "wire", "pay", "share", "upload", "post",
                "invite", "change", "create", "delete", "remove", "grant", "reset", "update",
                "add", "book", "buy",
            ],
        ],
        1,
        NONE,
    ) {
        return Some(Detection {
            family: Family::ToolInstruction,
            confidence: Confidence::Medium,
            evidence: n.span(s, e),
        });
    }
    None
}

fn hidden(text: &str, n: &Normalised, counts: &[usize; 3]) -> Option<Detection> {
    if counts[1] > 0 {
        return Some(Detection {
            family: Family::HiddenText,
            confidence: Confidence::Medium,
            evidence: format!("{} bidirectional override character(s)", counts[1]),
        });
    }
    // A byte order mark at the very start is common and harmless.
    let invisible_count = counts[0] - usize::from(text.starts_with('\u{FEFF}'));
    if invisible_count >= 3 {
        return Some(Detection {
            family: Family::HiddenText,
            confidence: Confidence::Medium,
            evidence: format!("{invisible_count} invisible character(s)"),
        });
    }
    // Instructions in places a person reading the rendered page does not see.
    let regions = if n.has(LT) {
        hidden_regions(&n.lower)
    } else {
        Vec::new()
    };
    for region in regions {
        let mut counts = [0; 3];
        let inner = normalise(region, &mut counts);
        let instructs = find(&inner, &[AI], 0, NONE).is_some()
            || find(
                &inner,
                &[&["you", "assistant"], &["must", "should", "need", "shall"]],
                1,
                NONE,
            )
            .is_some()
            || override_(&inner).is_some()
            || tool_instruction(&inner).is_some();
        if instructs {
            return Some(Detection {
                family: Family::HiddenText,
                confidence: Confidence::High,
                evidence: "instructions in text hidden from people".into(),
            });
        }
    }
    None
}

/// The text of HTML comments and of elements styled to be invisible (up to the next tag).
fn hidden_regions(lower: &str) -> Vec<&str> {
    let mut out = Vec::new();
    // Comments and styles are HTML.
    if !lower.contains('<') {
        return out;
    }
    let mut from = 0;
    while out.len() < 64
        && let Some(open) = lower[from..].find("<!--")
    {
        let start = from + open + 4;
        let end = lower[start..]
            .find("-->")
            .map_or(lower.len(), |e| start + e);
        out.push(&lower[start..end]);
        from = end;
    }
    for style in [
        "display:none",
        "display: none",
        "visibility:hidden",
        "visibility: hidden",
        "font-size:0",
        "font-size: 0",
        "opacity:0",
        "opacity: 0",
        "color:white",
        "color: white",
        "color:#fff",
        "color: #fff",
    ] {
        // At most 64 of each: a page is not hidden 64 times over, and each costs a search.
        for (at, _) in lower.match_indices(style).take(64) {
            // The element's text: after the end of its opening tag, up to the next tag.
            let Some(close) = lower[at..].find('>') else {
                continue;
            };
            let start = at + close + 1;
            let end = lower[start..].find('<').map_or(lower.len(), |e| start + e);
            out.push(&lower[start..end]);
        }
    }
    out
}

fn exfil_link(text: &str, n: &Normalised) -> Option<Detection> {
    // `![alt](url)` and `[text](url)`, and HTML images.
    let mut found = None;
    let links = if n.has(CLOSE_SQUARE) { 64 } else { 0 };
    for (at, _) in text.match_indices("](").take(links) {
        let image = text[..at]
            .rfind("![")
            .is_some_and(|open| !text[open..at].contains('\n'));
        let url: String = text[at + 2..]
            .chars()
            .take_while(|c| *c != ')' && !c.is_whitespace())
            .collect();
        if let Some(d) = judge_url(&url, image) {
            found = Some(d);
            break;
        }
    }
    if found.is_none() {
        let images = if n.has(LT) { 64 } else { 0 };
        for (at, _) in n.lower.match_indices("<img").take(images) {
            let rest = &n.lower[at..];
            if let Some(src) = rest.find("src=") {
                let url: String = rest[src + 4..]
                    .trim_start_matches(['"', '\''])
                    .chars()
                    .take_while(|c| !matches!(c, '"' | '\'' | '>' | ' '))
                    .collect();
                if let Some(d) = judge_url(&url, true) {
                    found = Some(d);
                    break;
                }
            }
        }
    }
    // Instructions to put data into a link or an image.
    if found.is_none()
        && let Some((s, e)) = find(
            n,
            &[
                &[
                    "append",
                    "add",
                    "include",
                    "insert",
                    "put",
                    "encode",
                    "concatenate",
                ],
                &[
                    "email",
                    "password",
                    "code",
                    "data",
                    "conversation",
                    "history",
                    "address",
                    "token",
                    "secret",
                    "key",
                    "details",
                    "information",
                    "info",
                    "summary",
                    "messages",
                    "credentials",
                ],
                &["to", "into", "in"],
                &["url", "link", "query", "parameter", "param"],
            ],
            3,
            NONE,
        )
    {
        found = Some(Detection {
            family: Family::ExfilLink,
            confidence: Confidence::High,
            evidence: n.span(s, e),
        });
    }
    found
}

/// Whether a link's URL looks built to carry data out.
fn judge_url(url: &str, image: bool) -> Option<Detection> {
    if !url.starts_with("http") {
        return None;
    }
    let lower = url.to_ascii_lowercase();
    let placeholders = [
        "{", "}", "%7b", "%7d", "$", "<", ">", "[data]", "[info]", "[secret]", "%5bdata",
        "insert_", "your_",
    ];
    let query = lower.split_once('?').map(|(_, q)| q).unwrap_or("");
    let templated = placeholders.iter().any(|p| {
        query.contains(p)
            || lower
                .split('/')
                .skip(3)
                .any(|seg| seg.contains('{') || seg.contains("%7b"))
    });
    if templated {
        return Some(Detection {
            family: Family::ExfilLink,
            confidence: Confidence::High,
            evidence: format!(
                "a {} whose URL is a template for data",
                if image { "markdown image" } else { "link" }
            ),
        });
    }
    let long_value = query
        .split('&')
        .filter_map(|p| p.split_once('=').map(|(_, v)| v))
        .any(|v| v.len() >= 40);
    if image && long_value {
        return Some(Detection {
            family: Family::ExfilLink,
            confidence: Confidence::Medium,
            evidence: "a markdown image whose URL carries a long value".into(),
        });
    }
    None
}

/// Every family found in `text`, at most one detection each, most confident first.
pub fn detect(text: &str) -> Vec<Detection> {
    let mut counts = [0usize; 3];
    let n = normalise(text, &mut counts);
    let mut out = Vec::new();
    if counts[2] >= 4 {
        out.push(Detection {
            family: Family::UnicodeTags,
            confidence: Confidence::High,
            evidence: format!("{} Unicode tag character(s) hiding text", counts[2]),
        });
    }
    out.extend(override_(&n));
    out.extend(fake_role(&n));
    out.extend(impersonation(&n));
    out.extend(tool_instruction(&n));
    out.extend(hidden(text, &n, &counts));
    out.extend(exfil_link(text, &n));
    out.sort_by(|a, b| {
        b.confidence
            .cmp(&a.confidence)
            .then(a.family.cmp(&b.family))
    });
    out
}
