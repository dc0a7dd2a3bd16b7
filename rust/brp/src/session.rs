//! [`Session`]: one client's request-id scope on an [`App`].

use crate::app::App;
use crate::error::{BrpError, code};
use crate::protocol::{self, Response};
use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// One client's id scope: ids are unique among the session's requests in
/// flight, and independent of other sessions' ids.
pub struct Session {
    app: App,
    in_flight: Mutex<HashSet<u64>>,
}

impl Session {
    pub(crate) fn new(app: App) -> Self {
        Self {
            app,
            in_flight: Mutex::new(HashSet::new()),
        }
    }

    /// The app this session talks to.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// Answers one request given as JSON text. A request whose id is still
    /// in flight in this session is rejected with [`code::DUPLICATE_ID`].
    pub fn request(&self, text: &str) -> String {
        self.respond(text).to_text()
    }

    /// Answers one request given as JSON text, as a [`Response`].
    pub fn respond(&self, text: &str) -> Response {
        let request = match protocol::parse(text) {
            Ok(request) => request,
            Err(response) => return response,
        };
        let id = request.id;
        if !self.in_flight().insert(id) {
            return Response {
                id: Some(id),
                result: Err(BrpError::new(
                    code::DUPLICATE_ID,
                    format!("request id {id} is already in flight in this session"),
                )),
            };
        }
        let result = self.app.execute(request.method, &request.params);
        self.in_flight().remove(&id);
        Response {
            id: Some(id),
            result,
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<u64>> {
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
