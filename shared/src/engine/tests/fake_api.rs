//! A fake API server that serves a script: the exact requests the engine is expected to make
//! (method, path, query), in steps, each answered as the script says. Requests of one step are
//! the ones the engine sends at once: they may come in any order, but all of them before any
//! request of the next step; in a step that must be one round trip ([`Script::at_once`]) none is
//! answered before all of them came. Any other request (an extra write, one out of its step) is answered
//! with a 500 and fails the test in [`FakeApi::finish`], as does a scripted request never made.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::channel::oneshot;
use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tower_test::mock::{self, Handle, SendResponse};

type Reply = Box<dyn Fn(&Value) -> (u16, Value) + Send>;

/// One expected request and its answer.
pub struct Exchange {
    method: &'static str,
    path: String,
    query: BTreeMap<String, String>,
    reply: Option<Reply>,
}

pub fn get(path: &str) -> Exchange {
    exchange("GET", path)
}

pub fn post(path: &str) -> Exchange {
    exchange("POST", path)
}

pub fn patch(path: &str) -> Exchange {
    exchange("PATCH", path)
}

pub fn delete(path: &str) -> Exchange {
    exchange("DELETE", path)
}

/// A server-side apply by the engine's field manager.
pub fn apply(path: &str) -> Exchange {
    patch(path).query(&[("fieldManager", "kubectl-mlflow")])
}

/// A server-side apply with `dryRun=All`.
pub fn dry_run(path: &str) -> Exchange {
    apply(path).query(&[("dryRun", "All")])
}

fn exchange(method: &'static str, path: &str) -> Exchange {
    Exchange { method, path: path.to_string(), query: BTreeMap::new(), reply: None }
}

impl Exchange {
    /// Query parameters, as the request carries them once decoded.
    pub fn query(mut self, pairs: &[(&str, &str)]) -> Exchange {
        self.query.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    pub fn reply(self, code: u16, body: Value) -> Exchange {
        self.reply_with(move |_| (code, body.clone()))
    }

    pub fn ok(self, body: Value) -> Exchange {
        self.reply(200, body)
    }

    pub fn not_found(self) -> Exchange {
        self.reply(404, status(404, "NotFound", "not found", json!({})))
    }

    /// An answer made from the request's body (an apply answered with the object it applied).
    pub fn reply_with(mut self, reply: impl Fn(&Value) -> (u16, Value) + Send + 'static) -> Exchange {
        self.reply = Some(Box::new(reply));
        self
    }

    /// Answers with the request's body, as the API server answers an apply that is the whole
    /// object, with `extra` merged in at the top (a `status`).
    pub fn echo(self, extra: Value) -> Exchange {
        self.reply_with(move |body| {
            let mut object = body.clone();
            if let (Some(object), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
                object.extend(extra.clone());
            }
            (200, object)
        })
    }

    /// Whether the request addresses this resource (`persistentvolumeclaims`).
    pub fn is_for(&self, resource: &str) -> bool {
        self.path.split('/').any(|segment| segment == resource)
    }

    fn matches(&self, request: &Served) -> bool {
        self.method == request.method && self.path == request.path && self.query == request.query
    }

    fn describe(&self) -> String {
        describe(self.method, &self.path, &self.query)
    }
}

/// A `Status` as the API server sends it with an error.
pub fn status(code: u16, reason: &str, message: &str, details: Value) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "details": details, "code": code})
}

/// A request the fake received: what tests may look at afterwards.
#[derive(Debug, Clone)]
pub struct Served {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The JSON body (`Null` when there is none).
    pub body: Value,
}

impl Served {
    pub fn describe(&self) -> String {
        describe(&self.method, &self.path, &self.query)
    }
}

fn describe(method: &str, path: &str, query: &BTreeMap<String, String>) -> String {
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if query.is_empty() {
        format!("{method} {path}")
    } else {
        format!("{method} {path}?{}", query.join("&"))
    }
}

/// The script: steps in order, and the requests that are left open whenever they come.
#[derive(Default)]
pub struct Script {
    steps: Vec<Step>,
    held: Vec<Exchange>,
}

struct Step {
    exchanges: Vec<Exchange>,
    /// No request of the step is answered before all of them came: a run that waits for one
    /// answer before sending the rest is caught (it would be a round trip more).
    at_once: bool,
}

/// How long an [`Script::at_once`] step waits for the rest of its requests: a run that waits for
/// an answer first never sends them.
const AT_ONCE_PATIENCE: Duration = Duration::from_secs(2);

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// The next step: requests that may be sent at once, in any order.
    pub fn then(mut self, step: impl IntoIterator<Item = Exchange>) -> Script {
        self.steps.push(Step { exchanges: step.into_iter().collect(), at_once: false });
        self
    }

    /// The next step: requests that must be sent at once, before any of them is answered (one
    /// round trip).
    pub fn at_once(mut self, step: impl IntoIterator<Item = Exchange>) -> Script {
        self.steps.push(Step { exchanges: step.into_iter().collect(), at_once: true });
        self
    }

    /// Requests never answered (the watches of a wait), allowed any number of times, at any time.
    pub fn holding(mut self, held: impl IntoIterator<Item = Exchange>) -> Script {
        self.held.extend(held);
        self
    }

    /// Starts serving; the client talks to the fake only.
    pub fn serve(self) -> FakeApi {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(self, handle, stopped));
        FakeApi { client: Client::new(service, "default"), stop, task }
    }
}

pub struct FakeApi {
    pub client: Client,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Log>,
}

impl FakeApi {
    /// Stops serving and returns every request served, in order; panics when a request was not
    /// in the script or a scripted one was never made.
    pub async fn finish(self) -> Vec<Served> {
        let _ = self.stop.send(());
        let log = self.task.await.expect("the fake API server ran");
        let mut errors = log.errors;
        errors.extend(log.left.iter().map(|e| format!("expected but never made: {e}")));
        assert!(errors.is_empty(), "the engine's requests differ from the script:\n{}", errors.join("\n"));
        log.served
    }
}

struct Log {
    served: Vec<Served>,
    errors: Vec<String>,
    left: Vec<String>,
}

async fn serve(
    script: Script,
    mut handle: Handle<Request<Body>, Response<Body>>,
    mut stopped: oneshot::Receiver<()>,
) -> Log {
    let mut steps = script.steps.into_iter();
    let mut current = steps.next().unwrap_or(Step { exchanges: Vec::new(), at_once: false });
    let mut log = Log { served: Vec::new(), errors: Vec::new(), left: Vec::new() };
    let mut open: Vec<SendResponse<Response<Body>>> = Vec::new();
    // The answers of an at-once step, sent when its last request came.
    let mut waiting: Vec<(SendResponse<Response<Body>>, Response<Body>)> = Vec::new();
    loop {
        let patience = if waiting.is_empty() { Duration::MAX } else { AT_ONCE_PATIENCE };
        let (request, respond) = tokio::select! {
            biased;
            next = handle.next_request() => match next { Some(next) => next, None => break },
            _ = tokio::time::sleep(patience) => {
                let late: Vec<String> = current.exchanges.iter().map(Exchange::describe).collect();
                log.errors.push(format!("not sent at once (sent after an answer, or never):\n  {}", late.join("\n  ")));
                answer(&mut waiting);
                continue;
            }
            _ = &mut stopped => break,
        };
        let served = read(request).await;
        log.served.push(served.clone());
        if script.held.iter().any(|e| e.matches(&served)) {
            open.push(respond);
            continue;
        }
        // The step is over once all its requests came: then the request must open the next.
        if current.exchanges.is_empty() {
            current = steps.next().unwrap_or(Step { exchanges: Vec::new(), at_once: false });
        }
        let Some(at) = current.exchanges.iter().position(|e| e.matches(&served)) else {
            let unexpected = format!("unexpected {}", served.describe());
            if log.errors.is_empty() {
                let waiting: Vec<String> = current.exchanges.iter().map(Exchange::describe).collect();
                let context = match waiting.is_empty() {
                    true => "after the script's last request".to_string(),
                    false => format!("while the step still expected:\n  {}", waiting.join("\n  ")),
                };
                log.errors.push(format!("{unexpected} {context}"));
            } else if !log.errors.contains(&unexpected) {
                log.errors.push(unexpected);
            }
            respond.send_response(response(500, &status(500, "InternalError", "not in the script", json!({}))));
            continue;
        };
        let exchange = current.exchanges.remove(at);
        let reply = exchange.reply.as_ref().unwrap_or_else(|| panic!("{} has no reply", exchange.describe()));
        let (code, body) = reply(&served.body);
        waiting.push((respond, response(code, &body)));
        if !current.at_once || current.exchanges.is_empty() {
            answer(&mut waiting);
        }
    }
    let never_made: Vec<Exchange> = current.exchanges.into_iter().chain(steps.flat_map(|s| s.exchanges)).collect();
    log.left = never_made.iter().map(Exchange::describe).collect();
    log
}

fn answer(waiting: &mut Vec<(SendResponse<Response<Body>>, Response<Body>)>) {
    for (respond, response) in waiting.drain(..) {
        respond.send_response(response);
    }
}

async fn read(request: Request<Body>) -> Served {
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.expect("a request body");
    let query = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    Served {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query,
        body: if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("a JSON body") },
    }
}

/// A JSON answer; a string is sent as text (a pod's log).
fn response(code: u16, body: &Value) -> Response<Body> {
    let bytes = match body {
        Value::String(text) => text.clone().into_bytes(),
        json => serde_json::to_vec(json).expect("JSON"),
    };
    Response::builder().status(code).body(Body::from(bytes)).expect("a response")
}
