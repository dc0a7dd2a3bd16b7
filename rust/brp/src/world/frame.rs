//! One frame of the hosted app: its `Main` schedule on the chosen executor,
//! with the errors and panics of its systems gathered into one error.

use crate::error::{BrpError, BrpResult};
use bevy_app::Main;
use bevy_ecs::error::{BevyError, ErrorContext};
use bevy_ecs::schedule::{InternedScheduleLabel, Schedules};
use bevy_ecs::world::World;
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

/// How many system errors one `update` error quotes; it counts the rest.
const QUOTED_ERRORS: usize = 8;

thread_local! {
    /// The errors of the frame running on this thread (single-threaded).
    static ERRORS: RefCell<Option<Errors>> = const { RefCell::new(None) };
}

/// The errors of the multi-threaded frame running, reported from the
/// compute pool's threads; [`MULTI_THREADED`] makes such frames one at a
/// time (they share the one pool anyway).
static POOL_ERRORS: Mutex<Option<Errors>> = Mutex::new(None);
static MULTI_THREADED: Mutex<()> = Mutex::new(());

/// The first errors of a frame, and how many there were.
#[derive(Default)]
struct Errors {
    quoted: Vec<String>,
    count: usize,
}

impl Errors {
    fn push(&mut self, error: String) {
        self.count += 1;
        if self.quoted.len() < QUOTED_ERRORS {
            self.quoted.push(error);
        }
    }

    fn into_result(self) -> BrpResult<()> {
        if self.count == 0 {
            return Ok(());
        }
        let more = match self.count - self.quoted.len() {
            0 => String::new(),
            n => format!("; and {n} more"),
        };
        Err(BrpError::internal(format!(
            "{} error(s) in systems during update: {}{more}",
            self.count,
            self.quoted.join("; ")
        )))
    }
}

/// The world's error handler (`FallbackErrorHandler`): records a system's
/// error or panic for the frame that runs it.
pub(crate) fn record_error(mut error: BevyError, context: ErrorContext) {
    let what = match error.take_payload() {
        Some(panic) => format!("panicked: {}", panic_message(&panic)),
        None => format!("failed: {}", error.to_string().trim_end()),
    };
    let line = format!("{} `{}` {what}", context.kind(), context.name());
    let line = ERRORS.with(|errors| match errors.borrow_mut().as_mut() {
        Some(errors) => {
            errors.push(line);
            None
        }
        None => Some(line),
    });
    if let Some(line) = line
        && let Some(errors) = lock(&POOL_ERRORS).as_mut()
    {
        errors.push(line);
    }
}

/// The schedules whose executor is set, and to which kind.
#[derive(Default)]
pub(crate) struct Executors {
    multi_threaded: bool,
    set: HashSet<InternedScheduleLabel>,
}

impl Executors {
    /// Executors of the kind `multi_threaded` chooses.
    pub(crate) fn new(multi_threaded: bool) -> Self {
        Self {
            multi_threaded,
            set: HashSet::new(),
        }
    }

    /// Gives every schedule not seen before the chosen executor. (Built
    /// without the `multi_threaded` feature, Bevy's default executor is
    /// already the single-threaded one.)
    fn apply(&mut self, world: &mut World) {
        let Some(mut schedules) = world.get_resource_mut::<Schedules>() else {
            return;
        };
        for (_, schedule) in schedules.iter_mut() {
            if self.set.insert(schedule.label()) {
                #[cfg(feature = "multi_threaded")]
                if self.multi_threaded {
                    schedule.set_executor(bevy_ecs::schedule::MultiThreadedExecutor::new());
                } else {
                    schedule.set_executor(bevy_ecs::schedule::SingleThreadedExecutor::new());
                }
            }
        }
    }
}

/// Runs one frame of `world`: `Main` (`Startup` the first time, then
/// `First` … `Last` and `FixedUpdate` as time says) on the chosen executors.
/// Fails, with the world kept usable, when a system fails or panics.
pub(crate) fn run(world: &mut World, executors: &mut Executors) -> BrpResult<()> {
    executors.apply(world);
    let multi_threaded = executors.multi_threaded;
    let _one_at_a_time = multi_threaded.then(|| lock(&MULTI_THREADED));
    ERRORS.with(|errors| *errors.borrow_mut() = Some(Errors::default()));
    if multi_threaded {
        *lock(&POOL_ERRORS) = Some(Errors::default());
    }
    let ran = catch_unwind(AssertUnwindSafe(|| world.try_run_schedule(Main)));
    let mut errors = ERRORS.with(|errors| errors.borrow_mut().take().unwrap_or_default());
    if let Some(pool) = multi_threaded.then(|| lock(&POOL_ERRORS).take()).flatten() {
        let unquoted = pool.count - pool.quoted.len();
        pool.quoted.into_iter().for_each(|line| errors.push(line));
        errors.count += unquoted;
    }
    match ran {
        Ok(Ok(())) => errors.into_result(),
        Ok(Err(missing)) => Err(BrpError::internal(format!(
            "cannot update: {missing} (a panic in an earlier update lost it)"
        ))),
        Err(panic) => Err(BrpError::internal(format!(
            "update panicked: {}",
            panic_message(&panic)
        ))),
    }
}

/// The message a panic carried, if it is text.
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> &str {
    (panic.downcast_ref::<&str>().copied())
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
