/*
 * Patterns that once crashed or hung a process through the C ABI
 * (docs/limits.md): DESTROY of a deep hierarchy, a callback that submits
 * the next request, brp_session_close racing a POLL, and callbacks that
 * close each other's sessions. A hang fails through a timed join.
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

/* Sends `request` without a session; the caller frees the answer. */
static char *request(const struct brp_app *app, const char *request) {
  char *response = NULL;
  CHECK(brp_request(app, request, &response) == BRP_STATUS_OK);
  return response;
}

/* Joins `thread`, failing the test instead of hanging. */
static void join_or_fail(pthread_t thread, const char *what) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += BRP_TEST_HANG_MS / 1000;
  int joined = pthread_timedjoin_np(thread, NULL, &deadline);
  if (joined != 0) {
    fprintf(stderr, "%s did not finish: deadlock or hang\n", what);
    exit(1);
  }
}

static void destroy_a_deep_hierarchy(void) {
  struct brp_app *app = NULL;
  CHECK(brp_app_new(NULL, &app) == BRP_STATUS_OK);
  char *first = request(app, "{\"id\": 1, \"request\": \"SPAWN\", \"params\": {\"components\": {}}}");
  CHECK(strstr(first, "\"1v0\"") != NULL);
  brp_string_free(first);
  char text[160];
  for (int i = 1; i <= 20000; i++) {
    snprintf(text, sizeof text,
             "{\"id\": 1, \"request\": \"SPAWN\", \"params\": {\"components\": "
             "{\"ChildOf\": {\"JSON\": \"\\\"%dv0\\\"\"}}}}",
             i);
    brp_string_free(request(app, text));
  }
  char *destroyed = request(app, "{\"id\": 2, \"request\": \"DESTROY\", \"params\": {\"entity\": \"1v0\"}}");
  CHECK(strstr(destroyed, "\"OK\"") != NULL);
  brp_string_free(destroyed);
  char *left = request(app, "{\"id\": 3, \"request\": \"QUERY\", \"params\": {\"data\": {}}}");
  CHECK(strstr(left, "\"entities\":[]") != NULL);
  brp_string_free(left);
  brp_app_free(app);
}

struct chain {
  struct brp_session *session;
  int depth;
  int deepest;
  long last;
};

/* Submits the next PING until id 10000, from inside the callback. */
static void next_in_chain(void *user_data, const char *response) {
  struct chain *chain = user_data;
  chain->depth++;
  if (chain->depth > chain->deepest) chain->deepest = chain->depth;
  const char *id = strstr(response, "\"id\":");
  long n = id == NULL ? -1 : strtol(id + strlen("\"id\":"), NULL, 10);
  chain->last = n;
  if (n > 0 && n < 10000) {
    char text[64];
    snprintf(text, sizeof text, "{\"id\": %ld, \"request\": \"PING\"}", n + 1);
    CHECK(brp_session_submit(chain->session, text) == BRP_STATUS_OK);
  }
  chain->depth--;
}

static void a_callback_that_submits_is_not_reentered(void) {
  struct brp_app *app = NULL;
  CHECK(brp_app_new(NULL, &app) == BRP_STATUS_OK);
  struct chain chain = {0};
  CHECK(brp_session_new(app, &chain.session) == BRP_STATUS_OK);
  CHECK(brp_session_set_callback(chain.session, next_in_chain, &chain) == BRP_STATUS_OK);
  CHECK(brp_session_submit(chain.session, "{\"id\": 1, \"request\": \"PING\"}") == BRP_STATUS_OK);
  CHECK(chain.last == 10000);
  CHECK(chain.deepest == 1);
  brp_session_free(chain.session);
  brp_app_free(app);
}

struct poller {
  struct brp_session *session;
  const char *request;
  long code;
};

static void *blocking_poll(void *arg) {
  struct poller *poller = arg;
  char *response = NULL;
  if (brp_session_request(poller->session, poller->request, &response) == BRP_STATUS_OK) {
    poller->code = brp_test_error_code(response);
    brp_string_free(response);
  }
  return NULL;
}

static void closing_while_a_poll_parks_always_cancels_it(void) {
  struct brp_app *app = NULL;
  CHECK(brp_app_new("{\"components\": [\"Position\"]}", &app) == BRP_STATUS_OK);
  brp_string_free(request(app, "{\"id\": 1, \"request\": \"SPAWN\", \"params\": {\"components\": "
                               "{\"Position\": {\"JSON\": \"1\"}}}}"));
  char *first = request(app, "{\"id\": 2, \"request\": \"POLL\", \"params\": {\"data\": "
                             "{\"components\": [\"Position\"]}}}");
  const char *mark = strstr(first, "\"watermark\":\"");
  CHECK(mark != NULL);
  char watermark[64] = {0};
  if (mark != NULL) sscanf(mark + strlen("\"watermark\":\""), "%63[^\"]", watermark);
  brp_string_free(first);
  char text[256];
  snprintf(text, sizeof text,
           "{\"id\": 3, \"request\": \"POLL\", \"params\": {\"data\": {\"components\": "
           "[\"Position\"]}, \"watermark\": \"%s\"}}",
           watermark);
  for (int round = 0; round < 100; round++) {
    struct poller poller = {NULL, text, 0};
    CHECK(brp_session_new(app, &poller.session) == BRP_STATUS_OK);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, blocking_poll, &poller) == 0);
    CHECK(brp_session_close(poller.session) == BRP_STATUS_OK);
    join_or_fail(thread, "a POLL racing brp_session_close");
    CHECK(poller.code == BRP_ERROR_CANCELLED);
    brp_session_free(poller.session);
  }
  brp_app_free(app);
}

struct closer {
  struct brp_session *own;
  struct brp_session *other;
  pthread_barrier_t *barrier;
};

/* Waits until both callbacks run, then closes the other's session. */
static void close_the_other(void *user_data, const char *response) {
  (void)response;
  struct closer *closer = user_data;
  pthread_barrier_wait(closer->barrier);
  CHECK(brp_session_close(closer->other) == BRP_STATUS_OK);
}

static void *submit_ping(void *arg) {
  struct closer *closer = arg;
  CHECK(brp_session_submit(closer->own, "{\"id\": 1, \"request\": \"PING\"}") == BRP_STATUS_OK);
  return NULL;
}

static void callbacks_closing_each_others_sessions_do_not_deadlock(void) {
  struct brp_app *app = NULL;
  CHECK(brp_app_new(NULL, &app) == BRP_STATUS_OK);
  struct brp_session *a = NULL;
  struct brp_session *b = NULL;
  CHECK(brp_session_new(app, &a) == BRP_STATUS_OK);
  CHECK(brp_session_new(app, &b) == BRP_STATUS_OK);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, 2);
  struct closer closers[2] = {{a, b, &barrier}, {b, a, &barrier}};
  CHECK(brp_session_set_callback(a, close_the_other, &closers[0]) == BRP_STATUS_OK);
  CHECK(brp_session_set_callback(b, close_the_other, &closers[1]) == BRP_STATUS_OK);
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) CHECK(pthread_create(&threads[i], NULL, submit_ping, &closers[i]) == 0);
  for (int i = 0; i < 2; i++) join_or_fail(threads[i], "callbacks closing each other's sessions");
  pthread_barrier_destroy(&barrier);
  brp_session_free(a);
  brp_session_free(b);
  brp_app_free(app);
}

int main(void) {
  destroy_a_deep_hierarchy();
  a_callback_that_submits_is_not_reentered();
  closing_while_a_poll_parks_always_cancels_it();
  callbacks_closing_each_others_sessions_do_not_deadlock();
  return brp_test_summary("session_hardening");
}
