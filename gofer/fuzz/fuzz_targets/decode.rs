//! Any datagram, decoded as a request and as a response: decoding never panics, and
//! whatever decodes encodes back to a datagram that decodes to the same message.
#![no_main]

use gofer::protocol::{Request, Response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    if let Ok(request) = Request::decode(data) {
        request.encode(&mut out).expect("a decoded request re-encodes");
        assert_eq!(Request::decode(&out).as_ref(), Ok(&request));
    }
    if let Ok(response) = Response::decode(data) {
        response.encode(&mut out).expect("a decoded response re-encodes");
        assert_eq!(Response::decode(&out), Ok(response));
    }
});
