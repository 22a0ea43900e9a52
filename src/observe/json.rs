//! A JSON object written straight into a buffer, for the state file's refresh.

/// An object being written: a refresh builds no tree of values (on an idle backup that
/// tree cost more than the write). Keys are plain ASCII; values go through serde_json,
/// which escapes them.
pub(super) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, empty: true }
    }

    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !std::mem::take(&mut self.empty) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub(super) fn str(&mut self, k: &str, v: &str) {
        let _ = serde_json::to_writer(self.key(k), v);
    }

    pub(super) fn opt_str(&mut self, k: &str, v: Option<&str>) {
        let _ = serde_json::to_writer(self.key(k), &v);
    }

    pub(super) fn num(&mut self, k: &str, v: u64) {
        let _ = serde_json::to_writer(self.key(k), &v);
    }

    pub(super) fn int(&mut self, k: &str, v: i64) {
        let _ = serde_json::to_writer(self.key(k), &v);
    }

    pub(super) fn float(&mut self, k: &str, v: Option<f64>) {
        let _ = serde_json::to_writer(self.key(k), &v);
    }

    pub(super) fn flag(&mut self, k: &str, v: bool) {
        let _ = serde_json::to_writer(self.key(k), &v);
    }

    pub(super) fn strs(&mut self, k: &str, v: &[String]) {
        let _ = serde_json::to_writer(self.key(k), v);
    }

    pub(super) fn counts(&mut self, k: &str, v: &std::collections::BTreeMap<String, u64>) {
        let _ = serde_json::to_writer(self.key(k), v);
    }

    /// An array of objects, each written by `each`.
    pub(super) fn objects<T>(&mut self, k: &str, items: &[T], each: impl Fn(&T, &mut Obj<'_>)) {
        let out = self.key(k);
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let mut o = Obj::open(out);
            each(item, &mut o);
            o.close();
        }
        out.push(b']');
    }

    pub(super) fn close(self) {
        self.out.push(b'}');
    }
}
