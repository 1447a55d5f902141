//! Reading the `--json` event stream of `sotto`: one JSON object per line on stdout.

use serde_json::Value;

/// Every line of `stdout` as JSON; a line that is not JSON fails the test.
pub fn json_events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// The first event named `name`.
pub fn event<'a>(events: &'a [Value], name: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} event in {events:?}"))
}
