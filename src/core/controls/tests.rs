use super::*;
use crate::core::fixtures::tiny_model;
use crate::core::rng::Rng;

fn link(text: &str) -> Checked {
    let d = Controls::default();
    parse(text, Origin::Link, &d, &d)
}

fn keys(c: &Checked) -> Vec<String> {
    c.problems.iter().map(|p| p.key.clone()).collect()
}

fn message(c: &Checked, key: &str) -> String {
    c.problems
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("no problem for {key}: {:?}", c.problems))
        .message(false)
}

#[test]
fn a_good_state_reads_whole() {
    let c = link(
        r#"{"base":" king","mix_with":" man","mix":0.25,"scale":"1.5","noise":0.1,"seed":7,
            "coeffs":[0.5,-1e-3],"temperature":0.7,"target":" queen","lr":2.5E-1,"steps":3,
            "top":0,"h":[],"drift":[]}"#,
    );
    assert_eq!(c.problems, vec![]);
    let want = Controls {
        base: " king".into(),
        mix_with: " man".into(),
        mix: 0.25,
        scale: 1.5,
        noise: 0.1,
        seed: 7,
        coeffs: vec![0.5, -1e-3],
        temperature: 0.7,
        target: " queen".into(),
        lr: 0.25,
        steps: 3,
        top: 0,
        ..Controls::default()
    };
    assert_eq!(c.controls, want);
    // what the controls serialise to reads back as the same controls (the page's URL).
    let again = link(&serde_json::to_string(&want).unwrap());
    assert_eq!(
        again,
        Checked {
            controls: want,
            problems: vec![],
            origin: Origin::Link,
        }
    );
    // empty text is an empty state.
    assert_eq!(link("").controls, Controls::default());
    assert_eq!(link("  ").problems, vec![]);
}

#[test]
fn each_bad_value_falls_back_alone_and_says_what_was_read() {
    let c = link(
        r#"{"base":" king","scale":1e400,"lr":"abc","noise":-1,"seed":1.5,"steps":5000,
            "top":501,"temperature":"NaN","mix":"Infinity","coeffs":[1,2,3,4,5,6,7,8,9],
            "target":[" queen"],"mix_with":{"a":1},"h":[1e39],"nope":1,"base":"again"}"#,
    );
    // the good field survives, every bad one takes its default.
    assert_eq!(
        c.controls,
        Controls {
            base: " king".into(),
            ..Controls::default()
        }
    );
    assert_eq!(
        keys(&c),
        [
            "scale",
            "lr",
            "noise",
            "seed",
            "steps",
            "top",
            "temperature",
            "mix",
            "coeffs",
            "target",
            "mix_with",
            "h[0]",
            "nope",
            "base"
        ]
    );
    for (key, want) in [
        (
            "scale",
            "scale: 1e400 is too large (the largest number is about 1.8e308); using 1",
        ),
        ("lr", "lr: \"abc\" is not a number; using 0.5"),
        (
            "noise",
            "noise: -1 is out of range (it must be ≥ 0); using 0",
        ),
        ("seed", "seed: 1.5 is not a whole number; using 1"),
        (
            "steps",
            "steps: 5000 is out of range (a whole number from 0 to 1000); using 0",
        ),
        (
            "top",
            "top: 501 is out of range (a whole number from 0 to 500); using 10",
        ),
        (
            "temperature",
            "temperature: \"NaN\" is not a number; using 1",
        ),
        ("mix", "mix: \"Infinity\" is not a number; using 0"),
        ("coeffs", "coeffs: 9 numbers, at most 8; using []"),
        ("target", "target: expected text, got a list; using \"\""),
        (
            "mix_with",
            "mix_with: expected text, got an object; using \"\"",
        ),
        (
            "h[0]",
            "h[0]: 1e39 is out of range (|x| ≤ 3.4e38); using none",
        ),
        ("nope", "nope: not a setting; ignored"),
        ("base", "base: given twice, the first is kept; ignored"),
    ] {
        assert_eq!(message(&c, key), want);
    }
}

#[test]
fn the_issues_values() {
    // "top": 0 is a valid state: an empty table.
    assert_eq!(link(r#"{"top":0}"#).controls.top, 0);
    // lr: 1e309, NaN, "abc" and a negative value are refused with what was read.
    for (lr, says) in [
        ("1e309", "lr: 1e309 is too large"),
        ("\"1e309\"", "lr: \"1e309\" is too large"),
        ("\"NaN\"", "lr: \"NaN\" is not a number"),
        ("\"abc\"", "lr: \"abc\" is not a number"),
        ("-0.5", "lr: -0.5 is out of range (it must be ≥ 0)"),
        ("\"\"", "lr: \"\" is not a number"),
    ] {
        let c = link(&format!(r#"{{"lr":{lr},"temperature":0.5}}"#));
        assert!(message(&c, "lr").starts_with(says), "{}", message(&c, "lr"));
        assert_eq!(c.controls.temperature, 0.5, "the rest is kept");
    }
    // 10,000 deep under base or coeffs: refused for that field only, with its depth.
    for (key, want) in [
        (
            "base",
            "base: expected text, got a list nested 10000 deep; using \" Paris\"",
        ),
        (
            "coeffs",
            "coeffs[0]: expected a number, got a list nested 9999 deep; using []",
        ),
    ] {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let c = link(&format!(r#"{{"{key}":{deep},"top":3}}"#));
        let key = if key == "coeffs" { "coeffs[0]" } else { key };
        assert_eq!(message(&c, key), want);
        assert_eq!(c.controls.top, 3);
    }
    // and deep objects inside a list's element.
    let deep = format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    let c = link(&format!(r#"{{"h":[1,{deep}]}}"#));
    assert!(message(&c, "h[1]").contains("an object nested 5000 deep"));
}

#[test]
fn the_whole_state_is_refused_only_when_unreadable() {
    let fallback = Controls {
        top: 3,
        ..Controls::default()
    };
    for (text, says) in [
        ("{", "s: not a JSON object (EOF while parsing"),
        ("[1,2]", "s: not a JSON object (invalid type: sequence"),
        ("\"x\"", "s: not a JSON object (invalid type: string"),
        ("{\"top\":1} x", "s: not a JSON object (trailing characters"),
    ] {
        let c = parse(text, Origin::Link, &Controls::default(), &fallback);
        assert_eq!(c.controls, fallback);
        assert!(
            c.problems[0].message(false).starts_with(says),
            "{}",
            c.problems[0]
        );
        assert!(c.problems[0]
            .message(false)
            .ends_with("; nothing in it is used"));
    }
    // a whole document nested 100,000 deep is refused without recursion.
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert_eq!(link(&deep).problems[0].key, "s");
    // too long: refused before it is parsed.
    let long = format!(r#"{{"base":"{}"}}"#, "x".repeat(MAX_STATE_BYTES));
    let c = link(&long);
    assert_eq!(
        c.problems[0].message(false),
        format!(
            "s: the state is {} bytes, more than the 262144 read; nothing in it is used",
            long.len()
        )
    );
    // lone surrogates and long text are refused for their field.
    let c = link(r#"{"base":"\ud800","target":" queen"}"#);
    assert!(
        message(&c, "base").starts_with("base: not valid text ("),
        "{}",
        message(&c, "base")
    );
    assert_eq!(c.controls.target, " queen");
    let c = link(&format!(r#"{{"base":"{}"}}"#, "é".repeat(1001)));
    assert_eq!(
        message(&c, "base"),
        "base: 1001 characters, at most 1000; using \" Paris\""
    );
    // keys and values are quoted escaped and cut.
    let c = link("{\"\\u202e\\u0000abc\":1,\"lr\":\"\\u202eevil\"}");
    assert_eq!(c.problems[0].key, "\\u{202E}\\u{0000}abc");
    assert_eq!(
        message(&c, "lr"),
        "lr: \"\\u202eevil\" is not a number; using 0.5"
    );
    let c = link(&format!(r#"{{"lr":"{}x"}}"#, "9".repeat(100)));
    assert!(message(&c, "lr").starts_with(&format!("lr: \"{}…", "9".repeat(39))));
}

#[test]
fn seeds_and_counts_are_whole_numbers_in_range() {
    for (v, ok) in [
        ("0", Some(0)),
        ("9007199254740991", Some(MAX_SEED)),
        ("9007199254740992", None),
        ("1e3", Some(1000)),
        ("\"12\"", Some(12)),
        ("-1", None),
        ("1.5", None),
        ("true", None),
        ("null", None),
    ] {
        let c = link(&format!(r#"{{"seed":{v}}}"#));
        assert_eq!(c.problems.is_empty(), ok.is_some(), "{v}: {:?}", c.problems);
        assert_eq!(c.controls.seed, ok.unwrap_or(1), "{v}");
    }
    let c = link(r#"{"seed":true,"steps":null}"#);
    assert_eq!(
        message(&c, "seed"),
        "seed: expected a whole number, got true/false; using 1"
    );
    assert_eq!(
        message(&c, "steps"),
        "steps: expected a whole number, got null; using 0"
    );
}

#[test]
fn attributes_are_named_and_read_as_text() {
    let d = Controls::default();
    let c = parse(
        r#"{"token":" king","mix-with":" man","temperature":"0.8","top":"abc","scale":"1e-3","mix_with":"x"}"#,
        Origin::Attributes,
        &d,
        &d,
    );
    assert_eq!(c.controls.base, " king");
    assert_eq!(c.controls.mix_with, " man");
    assert_eq!(c.controls.temperature, 0.8);
    assert_eq!(c.controls.scale, 1e-3);
    assert_eq!(message(&c, "top"), "top: \"abc\" is not a number; using 10");
    assert_eq!(message(&c, "mix_with"), "mix_with: not a setting; ignored");
    // a change keeps what is not mentioned (the reader's slider moves).
    let now = Controls {
        scale: 2.0,
        ..c.controls.clone()
    };
    let c = parse(r#"{"temperature":"-1"}"#, Origin::Attributes, &now, &now);
    assert_eq!(c.controls, now);
    assert_eq!(
        message(&c, "temperature"),
        "temperature: \"-1\" is out of range (it must be ≥ 0); using 0.8"
    );
    let c = parse("{}", Origin::Attributes, &d, &d);
    assert_eq!(c.problems, vec![]);
    let c = parse("{", Origin::Attributes, &d, &d);
    assert_eq!(c.problems[0].key, "attributes");
}

#[test]
fn the_model_has_its_say() {
    let mut m = tiny_model(40, 64);
    let fallback = Controls::for_model(&m);
    let check = |m: &Model, text: &str| {
        let mut c = parse(text, Origin::Link, &fallback, &fallback);
        check_with_model(m, &mut c, &fallback);
        c
    };
    let c = check(
        &m,
        r#"{"base":"king - man + woman","target":" woman","steps":2,"top":4}"#,
    );
    assert_eq!(c.problems, vec![]);
    let c = check(
        &m,
        r##"{"base":"zzz","mix_with":"#999","target":"qqq","h":[1,2],"drift":[1],"top":4}"##,
    );
    assert_eq!(
        c.controls,
        Controls {
            top: 4,
            ..fallback.clone()
        }
    );
    assert_eq!(keys(&c), ["h", "base", "mix_with", "target", "drift"]);
    assert_eq!(
        message(&c, "h"),
        "h: shape mismatch: h has 2 components, the model has d = 64; using none"
    );
    assert!(message(&c, "base").starts_with("base: not found: no token reads \"zzz\""));
    assert_eq!(
        message(&c, "mix_with"),
        format!(
            "mix_with: not found: token id 999 is outside the vocabulary (0..40); using {}",
            vocab::quoted(&fallback.mix_with, 48)
        )
    );
    // an expression whose h overflows f32 is refused with the component.
    let c = check(&m, r#"{"base":"1e300*king - man"}"#);
    assert!(
        message(&c, "base").contains("h["),
        "{}",
        message(&c, "base")
    );
    assert!(message(&c, "base").contains("inf; using"));
    // steps need a target and T > 0.
    let c = check(&m, r#"{"steps":3}"#);
    assert_eq!(
        message(&c, "steps"),
        "steps: gradient steps need a target token; using 0"
    );
    let c = check(&m, r#"{"steps":3,"target":" woman","temperature":0}"#);
    assert_eq!(
        message(&c, "steps"),
        "steps: gradient steps need T > 0; using 0"
    );
    // coefficients wait for a spectrum; zeros need none.
    m.spectrum = None;
    let c = check(&m, r#"{"coeffs":[0,0]}"#);
    assert_eq!(c.problems, vec![]);
    let c = check(&m, r#"{"coeffs":[0,1]}"#);
    assert!(message(&c, "coeffs").starts_with("coeffs: the singular directions are not known yet"));
    assert_eq!(c.controls.coeffs, Vec::<f64>::new());
    // a given h of length d is the base, whatever base says.
    let c = check(
        &m,
        &format!(r#"{{"base":"layer 3","h":{:?}}}"#, vec![0.5f32; 64]),
    );
    assert_eq!(c.problems, vec![]);
    // an element's attributes are named as the author wrote them, here as in `parse`.
    let mut c = parse(
        r##"{"token":"zzz","mix-with":"#999","target":"qqq"}"##,
        Origin::Attributes,
        &fallback,
        &fallback,
    );
    check_with_model(&m, &mut c, &fallback);
    assert_eq!(keys(&c), ["token", "mix-with", "target"]);
    assert!(message(&c, "token").starts_with("token: not found: no token reads \"zzz\""));
}

#[test]
fn vietnamese_words() {
    let c = link(r#"{"lr":"abc","steps":5000,"base":[[1]],"zz":1}"#);
    let vi: Vec<String> = c.messages(true).into_iter().map(|(_, m)| m).collect();
    assert_eq!(
        vi,
        [
            "lr: \"abc\" không phải là một số; dùng 0.5",
            "steps: 5000 nằm ngoài khoảng cho phép (một số nguyên từ 0 đến 1000); dùng 0",
            "base: cần văn bản, nhưng nhận được một danh sách lồng 2 tầng; dùng \" Paris\"",
            "zz: không phải một thiết lập; bỏ qua",
        ]
    );
    let many: String = (0..30).map(|i| format!("\"k{i}\":1,")).collect();
    let c = link(&format!("{{{many}\"top\":1}}"));
    let m = c.messages(false);
    assert_eq!(m.len(), MAX_PROBLEMS + 1);
    assert_eq!(m.last().unwrap().1, "… and 18 more");
}

/// random text, mostly JSON-shaped: whatever it is, the result is controls the session
/// accepts (after the model's check) and no panic.
#[test]
fn seeded_garbage_always_gives_usable_controls() {
    let mut m = tiny_model(40, 64);
    let fallback = Controls::for_model(&m);
    let mut rng = Rng::new(2024);
    let atoms = [
        "1",
        "-1",
        "0",
        "1e400",
        "-1e309",
        "1e-400",
        "\"NaN\"",
        "\"abc\"",
        "\"1e-3\"",
        "true",
        "null",
        "[]",
        "{}",
        "\" king\"",
        "\"#3\"",
        "\"king - man\"",
        "[1,2,3]",
        "[[[[1]]]]",
        "\"\\ud800\"",
        "\"#-1\"",
        "9007199254740993",
        "0.5",
        "1000",
        "501",
        "[0.5,\"x\"]",
    ];
    let keys = [
        "base",
        "h",
        "mix_with",
        "mix",
        "scale",
        "noise",
        "seed",
        "coeffs",
        "temperature",
        "target",
        "lr",
        "steps",
        "top",
        "drift",
        "x",
        "",
    ];
    let mut session = crate::core::session::Session::new();
    for _ in 0..400 {
        let n = (rng.next_u64() % 8) as usize;
        let mut members = Vec::new();
        for _ in 0..n {
            let k = keys[(rng.next_u64() % keys.len() as u64) as usize];
            let v = atoms[(rng.next_u64() % atoms.len() as u64) as usize];
            members.push(format!("\"{k}\":{v}"));
        }
        let mut text = format!("{{{}}}", members.join(","));
        if rng.next_u64() % 10 == 0 {
            let cut = (rng.next_u64() as usize) % (text.len() + 1);
            text.truncate(cut);
        }
        let mut c = parse(&text, Origin::Link, &fallback, &fallback);
        check_with_model(&m, &mut c, &fallback);
        for p in &c.problems {
            assert!(!p.message(false).is_empty() && !p.message(true).is_empty());
        }
        // steps are taken here natively (the page replays them in a Worker).
        session
            .update(&mut m, &c.controls)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}
