#!/usr/bin/env python3
"""test strings for the byte-level BPE tokenizer, generated deterministically (seed 20240611).

writes a JSON array of strings (UTF-8, one string per line) and prints the count. The same seed
and this file always give the same array, so a reference tokenization made from it (e.g.
`tests/oracle/llama_ref.py tokenize`) can be regenerated and compared at any time.

categories (hand-written cases first, then seeded variations of each):
    prose        ASCII English sentences and random word sequences
    vietnamese   sentences with diacritics, each in NFC (composed) and NFD (decomposed) form
    code         Python, Rust, JavaScript, with space and tab indentation
    emoji        single, ZWJ sequences (families, professions), flags, skin tones, keycaps
    numbers      1-30 digit numbers, thousands separators, decimals, phone numbers, dates
    whitespace   runs of spaces and tabs, mixed, leading, trailing, only whitespace, NBSP, U+3000
    newlines     \\n, \\r\\n, \\r, runs of blank lines, mixed with indentation
    special      text of SmolLM2's special tokens (<|im_start|>, <|im_end|>, <|endoftext|>, ...),
                 chat-template text, and partial or malformed ones (<|im_start, <|im_end|>x, ...)
    contractions don't, I'M, we'll, they've, curly apostrophes
    scripts      Chinese, Japanese, Korean, Arabic, Hebrew (right-to-left), Cyrillic, Thai,
                 Devanagari, Greek, mixed with Latin and digits
    invisible    zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF), combining marks,
                 C0/C1 control characters (NUL included), bidi controls, line/paragraph separators
    edge         the empty string, single characters, a ~3000-character string, long runs
    random       seeded mixes of characters drawn from all the pools above
    gemma        (only with --gemma, appended after the 471) Gemma 3's special and user-defined
                 token texts: turn markers, <bos>/<eos>/<pad>/<unk>/<mask>, <unusedN>, </s> (a
                 user-defined token llama.cpp makes an end-of-generation CONTROL one), HTML tags,
                 [multimodal], image markers, runs of newlines, spaces and tabs past the longest
                 such token (31), partial markers, and a chat-template prompt

lone surrogates (U+D800-U+DFFF) are NOT included: they are not Unicode scalar values, so no
valid UTF-8 string contains one and a tokenizer fed UTF-8 bytes can never see one (Python can
hold them in a str, but json/UTF-8 encoding would fail or need escapes that are not UTF-8).

usage:
    python3 tests/tokenizer/strings.py [--out strings.json] [--gemma]   (default: target/tokenizer/strings.json)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import unicodedata
from pathlib import Path

SEED = 20240611
REPO = Path(__file__).resolve().parents[2]

WORDS = (
    "the of and to in is was for on that with as by at from it an be this which or are have "
    "not had but were they one all their there been has when who will more no if out so said "
    "what up its about into than them can only other new some could time these two may then do "
    "first any my now such like our over man me even most made after also did many before must "
    "through back years where much your way well down should because each just those people Mr "
    "how too little state good very make world still own see men work long get here between both "
    "life being under never day same another know while last might us great old year off come "
    "since against go came right used take three language model token logit softmax embedding"
).split()

PROSE = [
    "The capital of France is Paris.",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times.",
    "A language model turns a hidden state into one score per token.",
    "Mr. Smith paid $3.50 for a cup of coffee at 7:45 a.m. on Jan. 2nd.",
    "e-mail: someone@example.com, URL: https://example.com/path?q=1&r=two#frag",
    "(parentheses) [brackets] {braces} <angles> \"quotes\" 'single' `backticks`",
    "Punctuation!!! Really??? Yes... no -- maybe; ok: fine/good\\bad|pipe~tilde^caret",
    "ALL CAPS SENTENCE WITH SHOUTING",
    "camelCase snake_case kebab-case PascalCase SCREAMING_SNAKE",
    "a",
    "I",
    "The",
    " The",
    "  the  ",
]

VIETNAMESE = [
    "Hà Nội là thủ đô của Việt Nam",
    "Hà Nội là thủ đô của",
    "Tôi yêu tiếng Việt.",
    "Chúng ta cùng học về mô hình ngôn ngữ lớn.",
    "Phở bò và bánh mì là những món ăn nổi tiếng.",
    "Thành phố Hồ Chí Minh có hơn chín triệu dân.",
    "Người ta nói rằng: \"Có công mài sắt, có ngày nên kim.\"",
    "Ếch ộp, ừ ừ, ở đây, ỹ ỷ ỵ, Đường đi khó",
    "Nguyễn Thị Minh Khai, Trần Hưng Đạo, Lê Lợi",
    "xin chào thế giới",
    "Bài 9: Bước giải mã (unembedding) và phân phối xác suất",
    "tiếng Việt có sáu thanh: ngang, huyền, sắc, hỏi, ngã, nặng",
]

CODE = [
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "import numpy as np\n\nx = np.zeros((3, 4), dtype=np.float32)\nprint(x.shape)\n",
    "class Foo:\n\tdef __init__(self):\n\t\tself.x = 1  # tab-indented\n",
    "for i in range(10):\n    print(f\"{i:>4d} {i**2}\")\n",
    "fn main() {\n    let x = 42;\n    println!(\"{x}\");\n}\n",
    "fn main() {\n    let x =",
    "impl<T: Clone> Iterator for Foo<T> {\n    type Item = Vec<&'static str>;\n}\n",
    "#[derive(Debug)]\nstruct Point { x: f32, y: f32 }\n",
    "let v: Vec<u8> = (0..=255).collect::<Vec<_>>();",
    "function add(a, b) {\n  return a + b;\n}\n",
    "const f = async (x) => { await fetch(`/api/${x}`); };\n",
    "if (a === b && c !== d || !e) {\n\tconsole.log('ok');\n}\n",
    "<div class=\"x\">&lt;tag&gt; &amp;&nbsp;</div>",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "x+=1;y-=2;z*=3;w/=4;a%=5;b**=6;c//=7;d<<=8;e>>=9",
    "    \t    \tmixed indent\n",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
]

EMOJI = [
    "😀",
    "👍",
    "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "👨‍👩‍👧‍👦",
    "👩‍💻",
    "🧑🏽‍🚀",
    "🏳️‍🌈",
    "🏴‍☠️",
    "🇻🇳🇫🇷🇺🇸🇯🇵",
    "🇻🇳",
    "1️⃣2️⃣#️⃣*️⃣",
    "❤️",
    "❤",
    "I love it ❤️🔥!",
    "emoji in text 😂😂😂 lol",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "👋🏿 hi",
    "✌️✌🏾",
]

SPECIAL = [
    "<|im_start|>user\nhi<|im_end|>",
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|><|endoftext|>",
    "text<|endoftext|>more text",
    "<|im_start",
    "<|im_start|",
    "im_start|>",
    "<|im_end|>x",
    "x<|im_end|>",
    "< |im_end| >",
    "<|IM_END|>",
    "<|im_end|><|im_start|>",
    "<<|im_start|>>",
    "<|im_start|>assistant",
    " <|im_end|> ",
    "<|im_end|>\n",
    "<repo_name>unembed<file_sep>src/main.rs<filename>lib.rs<gh_stars>10",
    "<issue_start><issue_comment><issue_closed>",
    "<jupyter_start><jupyter_text><jupyter_code><jupyter_output><jupyter_script><empty_output>",
    "<fim_prefix>def f():<fim_suffix>\n<fim_middle>    pass<fim_pad>",
    "<reponame>",
    "</s><s><unk><pad>",
    "<|endoftext",
    "endoftext|>",
]

CONTRACTIONS = [
    "don't",
    "I'M",
    "we'll",
    "they've",
    "she'd",
    "it's",
    "you're",
    "DON'T WON'T CAN'T",
    "I'm I've I'd I'll",
    "it’s don’t we’ll",
    "'s",
    "'",
    "''",
    "rock 'n' roll",
    "the dog's bone and the dogs' bones",
    "O'Neil's",
    "'tis 'twas",
    "y'all'd've",
]

SCRIPTS = [
    "我爱北京天安门。",
    "语言模型把隐藏状态转换为词元的分数",
    "日本語のテキストです。カタカナとひらがな",
    "東京タワーは333メートルです",
    "한국어 문장입니다. 안녕하세요!",
    "مرحبا بالعالم",
    "العربية: ١٢٣٤٥٦٧٨٩٠",
    "שלום עולם",
    "עברית mixed with English ומספרים 123",
    "Привет, мир! Ёжик в тумане.",
    "Съешь же ещё этих мягких французских булок",
    "สวัสดีชาวโลก",
    "भाषा मॉडल नमस्ते दुनिया",
    "Ελληνικά: Γειά σου Κόσμε",
    "Ἀρχιμήδης εὕρηκα",
    "ქართული ენა",
    "Հայերեն",
    "አማርኛ",
    "ᚠᛇᚻ᛫ᛒᛦᚦ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝐛𝐨𝐥𝐝",
    "English, Tiếng Việt, 中文, 日本語, العربية, עברית, Русский",
    "ＦＵＬＬＷＩＤＴＨ　ｌｅｔｔｅｒｓ　１２３",
    "ﬁ ﬂ ﬀ ligatures, Å vs Å, Ω vs Ω",
]

INVISIBLE = [
    "zero\u200bwidth\u200bspace",
    "\u200b",
    "\u200d",
    "\u200c",
    "\ufeff",
    "\ufeffBOM at start",
    "word\u2060joiner",
    "a\u200db",
    "e\u0301 vs \u00e9",
    "n\u0303o\u0308",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034da\u0300lgo",
    "\u0301",
    "\u0300\u0301\u0302\u0303\u0304",
    "\x00",
    "nul\x00inside",
    "\x01\x02\x03\x07\x08",
    "\x1b[31mred\x1b[0m",
    "\x7f",
    "\x0b\x0c",
    "\x85",
    "line\u2028separator\u2029paragraph",
    "\u202eRTL override\u202c",
    "\u200fright-to-left mark\u200e",
    "\u00ad",
    "soft\u00adhyphen",
    "\ufffd",
    "\uffff",
    "\U0010ffff",
    "\ue000 private use",
]

WHITESPACE_UNITS = [" ", "\t", "\u00a0", "\u3000", "\u2003", "\u2009"]


def nfc_nfd(strings: list[str]) -> list[str]:
    """each string in NFC and in NFD; they differ wherever a precomposed letter exists."""
    out = []
    for s in strings:
        out.append(unicodedata.normalize("NFC", s))
        out.append(unicodedata.normalize("NFD", s))
    return out


def prose(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        words = rng.choices(WORDS, k=rng.randint(1, 18))
        s = " ".join(words)
        if rng.random() < 0.5:
            s = s[0].upper() + s[1:]
        s += rng.choice([".", "", "!", "?", ",", " ..."])
        out.append(s)
    return out


def vietnamese(rng: random.Random, n: int) -> list[str]:
    words = " ".join(VIETNAMESE).replace(":", " ").replace(",", " ").replace(".", " ").split()
    out = []
    for _ in range(n):
        s = " ".join(rng.choices(words, k=rng.randint(2, 12)))
        out.append(unicodedata.normalize(rng.choice(["NFC", "NFD"]), s))
    return out


def code(rng: random.Random, n: int) -> list[str]:
    """re-indented variants: the same lines with 2/4/8 spaces or tabs, and \\r\\n endings."""
    out = []
    for _ in range(n):
        src = rng.choice(CODE)
        indent = rng.choice(["  ", "    ", "        ", "\t", "\t\t"])
        lines = [indent * ((len(ln) - len(ln.lstrip(" "))) // 4) + ln.lstrip(" ") for ln in src.split("\n")]
        out.append(rng.choice(["\n", "\r\n"]).join(lines))
    return out


def emoji(rng: random.Random, n: int) -> list[str]:
    base = ["😀", "🙂", "🚀", "🎉", "🐍", "🦀", "👍", "🤖", "🍜", "🌏", "⭐", "☕", "✅", "❌"]
    tones = ["", "\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff"]
    flags = ["VN", "FR", "US", "JP", "DE", "GB", "CN", "BR", "IN", "KR"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 5)):
            k = rng.random()
            if k < 0.4:
                parts.append(rng.choice(base))
            elif k < 0.6:
                parts.append(rng.choice(["👋", "👍", "🙌", "🧑"]) + rng.choice(tones))
            elif k < 0.8:
                parts.append("".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in rng.choice(flags)))
            else:
                parts.append("\u200d".join(rng.choices(["👨", "👩", "👧", "👦", "💻", "🔬", "🚒"], k=rng.randint(2, 4))))
        out.append(rng.choice(["", " "]).join(parts) + rng.choice(["", " ok", "!"]))
    return out


def numbers(rng: random.Random) -> list[str]:
    out = []
    for digits in range(1, 31):  # one plain number of each length 1..30
        first = str(rng.randint(1, 9))
        out.append(first + "".join(str(rng.randint(0, 9)) for _ in range(digits - 1)))
    for _ in range(24):
        v = rng.randint(1000, 10**15)
        out.append(rng.choice([f"{v:,}", f"{v:_}", f"{v:,}".replace(",", "."), f"{v:,}".replace(",", " ")]))
    for _ in range(12):
        out.append(f"{rng.uniform(-1e6, 1e6):.{rng.randint(1, 12)}f}")
    out += ["0", "00", "007", "-1", "+1", "3.14159265358979323846", "1e10", "6.022e23", "1,5", "0.000001",
            "1/2", "50%", "$1,234.56", "€1.234,56", "1st 2nd 3rd 4th", "2024-06-11", "11/06/2024",
            "12:34:56", "v1.2.3", "0x1F600", "0b1010", "1_000_000"]
    for _ in range(10):
        d = [str(rng.randint(0, 9)) for _ in range(10)]
        out.append(rng.choice([
            f"+84 {''.join(d[:2])} {''.join(d[2:5])} {''.join(d[5:9])}",
            f"({''.join(d[:3])}) {''.join(d[3:6])}-{''.join(d[6:10])}",
            f"0{''.join(d[:3])}.{''.join(d[3:6])}.{''.join(d[6:9])}",
            "+1-" + "-".join(["".join(d[:3]), "".join(d[3:6]), "".join(d[6:10])]),
        ]))
    return out


def whitespace(rng: random.Random) -> list[str]:
    out = [" " * k for k in (1, 2, 3, 4, 5, 8, 16, 33)]
    out += ["\t" * k for k in (1, 2, 4)]
    out += [" \t", "\t ", " \t \t ", "\t\t  \t", "\u00a0", "\u3000", " \u00a0 "]
    out += ["  leading", "trailing  ", "  both  ", "\tleading tab", "trailing tab\t",
            "a  b   c    d", "a\tb\t\tc", "word \n", " \n ", "x" + " " * 20 + "y"]
    for _ in range(10):
        ws = "".join(rng.choices(WHITESPACE_UNITS[:2] + ["\n"], k=rng.randint(1, 12)))
        out.append(rng.choice(["", "hello"]) + ws + rng.choice(["", "world"]))
    return out


def newlines(rng: random.Random) -> list[str]:
    out = ["\n", "\n\n", "\n\n\n\n", "\r\n", "\r\n\r\n", "\r", "\n\r", "a\nb", "a\r\nb", "a\rb",
           "line one\n\nline three\n\n\n\nline seven", "para\r\n\r\n\r\npara", "\ntext starting with newline",
           "text ending with newline\n", "\n \n \n", "\n\t\n\t\n", "  \n  indented\n    more\n"]
    for _ in range(8):
        parts = rng.choices(WORDS, k=rng.randint(2, 6))
        seps = rng.choices(["\n", "\r\n", "\n\n", "\n\n\n", " \n", "\n ", "\t\n"], k=len(parts) - 1)
        out.append(parts[0] + "".join(s + p for s, p in zip(seps, parts[1:])))
    return out


def special(rng: random.Random, n: int) -> list[str]:
    pieces = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start", "|>", "<|", "user", "assistant",
              "\n", " ", "hi", "system", "<jupyter_code>", "<file_sep>"]
    return ["".join(rng.choices(pieces, k=rng.randint(2, 8))) for _ in range(n)]


def random_mix(rng: random.Random, n: int) -> list[str]:
    pool = "".join(PROSE + VIETNAMESE + CODE + EMOJI + SCRIPTS + CONTRACTIONS) + "".join(INVISIBLE) + "0123456789 \t\n\r"
    chars = sorted(set(pool))
    return ["".join(rng.choices(chars, k=rng.randint(1, 40))) for _ in range(n)]


def long_string(rng: random.Random) -> str:
    """about 3000 characters mixing prose, Vietnamese, code, numbers, emoji and whitespace."""
    parts = []
    total = 0
    sources = [PROSE, VIETNAMESE, CODE, EMOJI, SCRIPTS, SPECIAL[:3]]
    while total < 3000:
        s = rng.choice(rng.choice(sources))
        parts.append(s)
        total += len(s) + 1
    return " ".join(parts)[:3000]


GEMMA_PIECES = ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<unused0>",
                "<unused17>", "<unused6241>", "</s>", "<s>", "<table>", "</td>", "<h1>", "<code>", "[multimodal]",
                "<start_of_image>", "<end_of_image>", "<start_of_turn", "end_of_turn>", "<", ">", "user", "model",
                "\n", "\n\n", "\n\n\n", " ", "  ", "\t", "\t\t", "Xin chào", "Hà Nội", "the", "▁", "▁▁the"]
GEMMA = [
    "<start_of_turn>user\nThủ đô của Việt Nam là gì?<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n",
    "\n" * 40, " " * 45, "\t" * 33, "\n \n  \n\t\n" * 6, "a</s>b<s>c", "<table><tr><td>1</td></tr></table>",
    "<unused99>x<unused999>", "<<start_of_turn>>", "<end_of_turn><start_of_turn>", "▁x ▁", "<0x41>", "<0xZZ>",
]


def gemma(rng: random.Random, n: int) -> list[str]:
    return GEMMA + ["".join(rng.choices(GEMMA_PIECES, k=rng.randint(2, 10))) for _ in range(n)]


def generate() -> list[str]:
    rng = random.Random(SEED)
    out: list[str] = []
    out += PROSE + prose(rng, 30)
    out += nfc_nfd(VIETNAMESE) + vietnamese(rng, 20)
    out += CODE + code(rng, 12)
    out += EMOJI + emoji(rng, 16)
    out += numbers(rng)
    out += whitespace(rng)
    out += newlines(rng)
    out += SPECIAL + special(rng, 12)
    out += CONTRACTIONS
    out += SCRIPTS
    out += INVISIBLE
    out += ["", "!", "~", "\\", '"', "é", "ß", "中", "𝄞", "a" * 200, "ab" * 150, "😀" * 50, "9" * 100, "-" * 80, "=" * 64]
    out.append(long_string(rng))
    out += random_mix(rng, 40)
    # drop exact duplicates (NFC == NFD for strings without precomposed letters) but keep the order
    seen: set[str] = set()
    uniq = []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    for s in uniq:
        s.encode("utf-8")  # raises on a lone surrogate: none may slip in
    return uniq


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 1)[1])
    ap.add_argument("--out", type=Path, default=REPO / "target/tokenizer/strings.json", help="output JSON file (default %(default)s)")
    ap.add_argument("--gemma", action="store_true", help="append the Gemma 3 special-token strings")
    args = ap.parse_args()
    strings = generate()
    if args.gemma:
        seen = set(strings)
        strings += [s for s in dict.fromkeys(gemma(random.Random(SEED + 3), 40)) if s not in seen]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # one string per line, UTF-8; json escapes C0 controls, and the characters some editors take
    # for line breaks (U+0085, U+2028, U+2029) are escaped too (they only occur inside strings)
    lines = [json.dumps(s, ensure_ascii=False) for s in strings]
    lines = [ln.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") for ln in lines]
    args.out.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
    print(f"{len(strings)} strings written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
