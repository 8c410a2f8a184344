//! What an endpoint answers: a status, a content type, a body and extra headers.

use crate::AgentError;

/// An answer.
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn text(status: u16, text: impl Into<String>) -> Answer {
        let mut body = text.into().into_bytes();
        body.push(b'\n');
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
            headers: Vec::new(),
        }
    }

    pub fn bad(err: AgentError) -> Answer {
        Answer::text(400, err.to_string())
    }
}
