//! The lines between stdio and the MCP SDK: every line a client sends gets a JSON-RPC 2.0
//! answer, whatever it holds, and no input is large enough to hurt the server.
//!
//! The SDK answers well-formed messages; this layer answers the rest itself, before they
//! reach it: a line that is not JSON gets `-32700` (parse error), one that is JSON but not a
//! request object (`[]`, a batch, a number) gets `-32600` (invalid request), a line longer
//! than [`MAX_LINE`] bytes gets `-32600` without being kept in memory, and `"params": null`
//! is read as no params. Answers from this layer and from the SDK go out through one writer,
//! one line each, so they never interleave.

use serde_json::{Value as Json, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// The longest line (one JSON-RPC message) the server reads: 4 MiB.
pub(super) const MAX_LINE: usize = 4 * 1024 * 1024;

/// What one line from the client is.
#[derive(Debug, PartialEq)]
pub(super) enum Line {
    /// A message for the SDK, as it will receive it.
    Forward(String),
    /// An answer this layer gives itself.
    Answer(String),
    /// Nothing to do (a blank line).
    Skip,
}

/// A JSON-RPC error answer without an id (the id of a message that cannot be read is
/// unknown).
fn error(code: i64, message: &str) -> String {
    json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}}).to_string()
}

/// Reads one line from the client.
pub(super) fn classify(line: &[u8]) -> Line {
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Answer(error(-32700, "Parse error: the line is not UTF-8 text"));
    };
    let text = text.trim();
    if text.is_empty() {
        return Line::Skip;
    }
    match serde_json::from_str::<Json>(text) {
        Err(e) => Line::Answer(error(-32700, &format!("Parse error: not JSON ({e})"))),
        Ok(Json::Array(items)) if items.is_empty() => {
            Line::Answer(error(-32600, "Invalid request: an empty batch"))
        }
        Ok(Json::Array(_)) => Line::Answer(error(
            -32600,
            "Invalid request: batches are not supported; send one message per line",
        )),
        Ok(Json::Object(mut m)) => {
            if m.get("params") == Some(&Json::Null) {
                m.remove("params");
            }
            // A tool call names its tool in params; without them the SDK would call the
            // method unknown (-32601), which it is not.
            if m.get("method").and_then(Json::as_str) == Some("tools/call")
                && !m.get("params").is_some_and(Json::is_object)
            {
                let id = m.get("id").cloned().unwrap_or(Json::Null);
                return Line::Answer(
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32602,
                        "message": "Invalid params: tools/call takes params {\"name\": TOOL, \"arguments\": {...}}"}})
                    .to_string(),
                );
            }
            Line::Forward(Json::Object(m).to_string())
        }
        Ok(_) => Line::Answer(error(-32600, "Invalid request: a message is a JSON object")),
    }
}

/// Reads the next line into `buf` (without its newline), keeping at most [`MAX_LINE`] bytes:
/// `Ok(Some(true))` for a whole line, `Ok(Some(false))` for a line that was too long (the rest
/// of it is skipped), `Ok(None)` at the end of the input.
async fn next_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(read_any.then_some(!too_long));
        }
        read_any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long && buf.len() + part.len() <= MAX_LINE {
            buf.extend_from_slice(part);
        } else {
            too_long = true;
            buf.clear();
        }
        let used = done.unwrap_or(chunk.len());
        r.consume(used);
        if done.is_some() {
            return Ok(Some(!too_long));
        }
    }
}

/// Runs the framing until the client closes `input`: lines for the SDK go to `to_sdk`, the
/// SDK's lines from `from_sdk` and this layer's answers go to `output`, one writer for both.
pub(super) async fn run<I, O, S, F>(input: I, output: O, to_sdk: S, from_sdk: F)
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
    S: AsyncWrite + Unpin + Send + 'static,
    F: AsyncRead + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<String>(64);
    let writer = tokio::spawn(async move {
        let mut output = output;
        while let Some(line) = rx.recv().await {
            if output.write_all(line.as_bytes()).await.is_err()
                || output.write_all(b"\n").await.is_err()
                || output.flush().await.is_err()
            {
                break;
            }
        }
    });
    let sdk_tx = tx.clone();
    let answers = tokio::spawn(async move {
        let mut lines = BufReader::new(from_sdk).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sdk_tx.send(line).await.is_err() {
                break;
            }
        }
    });
    let mut input = BufReader::new(input);
    let mut to_sdk = to_sdk;
    let mut buf = Vec::new();
    while let Ok(Some(whole)) = next_line(&mut input, &mut buf).await {
        let line = if whole {
            classify(&buf)
        } else {
            Line::Answer(error(
                -32600,
                &format!("Invalid request: a message is at most {MAX_LINE} bytes"),
            ))
        };
        match line {
            Line::Skip => {}
            Line::Answer(a) => {
                if tx.send(a).await.is_err() {
                    break;
                }
            }
            Line::Forward(m) => {
                if to_sdk.write_all(m.as_bytes()).await.is_err()
                    || to_sdk.write_all(b"\n").await.is_err()
                    || to_sdk.flush().await.is_err()
                {
                    break;
                }
            }
        }
    }
    // The client is gone: the SDK sees the end of its input and ends the session.
    drop(to_sdk);
    let _ = answers.await;
    drop(tx);
    let _ = writer.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(l: &Line) -> i64 {
        match l {
            Line::Answer(a) => serde_json::from_str::<Json>(a).unwrap()["error"]["code"]
                .as_i64()
                .unwrap(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_line_gets_the_json_rpc_answer_it_should() {
        assert_eq!(code(&classify(b"this is not json")), -32700);
        assert_eq!(code(&classify(b"\xff\xfe\x00garbage")), -32700);
        assert_eq!(code(&classify(b"[]")), -32600);
        assert_eq!(code(&classify(b"[{\"jsonrpc\":\"2.0\"}]")), -32600);
        assert_eq!(code(&classify(b"42")), -32600);
        assert_eq!(classify(b"   "), Line::Skip);
        assert_eq!(
            code(&classify(
                br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":null}"#
            )),
            -32602
        );
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":6,"method":"tools/list","params":null}"#),
            Line::Forward(r#"{"id":6,"jsonrpc":"2.0","method":"tools/list"}"#.into())
        );
    }

    #[tokio::test]
    async fn a_line_too_long_is_skipped_without_being_kept() {
        let mut input = Vec::new();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend_from_slice(b"\n{\"a\":1}\n");
        let mut r = BufReader::new(&input[..]);
        let mut buf = Vec::new();
        assert_eq!(next_line(&mut r, &mut buf).await.unwrap(), Some(false));
        assert!(buf.is_empty());
        assert_eq!(next_line(&mut r, &mut buf).await.unwrap(), Some(true));
        assert_eq!(buf, b"{\"a\":1}");
        assert_eq!(next_line(&mut r, &mut buf).await.unwrap(), None);
    }
}
