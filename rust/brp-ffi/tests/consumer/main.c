/* A program built against an installed libbrp (scripts/install-libbrp):
 * scripts/test-install builds it with CMake (brp::brp, brp::brp_static) and
 * with pkg-config, and runs it. It makes an app, answers a PING and checks
 * that the library loaded is the version of the header it was built with.
 * Exits 0 and prints "ok <version>" on success. */
#include <stdio.h>
#include <string.h>

#include <brp.h>

#define STR_(x) #x
#define STR(x) STR_(x)

int main(void) {
  const char *expected =
      STR(BRP_VERSION_MAJOR) "." STR(BRP_VERSION_MINOR) "." STR(BRP_VERSION_PATCH);
  const char *version = brp_version();
  if (version == NULL || strcmp(version, expected) != 0) {
    fprintf(stderr, "brp_version() is %s, the header's %s\n", version ? version : "NULL", expected);
    return 1;
  }

  struct brp_app *app = NULL;
  if (brp_app_new(NULL, &app) != BRP_STATUS_OK) {
    fprintf(stderr, "brp_app_new failed: %s\n", brp_last_error_message());
    return 1;
  }
  char *response = NULL;
  if (brp_request(app, "{\"id\": 1, \"request\": \"PING\"}", &response) != BRP_STATUS_OK) {
    fprintf(stderr, "brp_request failed: %s\n", brp_last_error_message());
    brp_app_free(app);
    return 1;
  }
  int ok = strstr(response, "\"OK\"") != NULL;
  if (!ok) fprintf(stderr, "unexpected PING response: %s\n", response);
  brp_string_free(response);
  brp_app_free(app);
  if (!ok) return 1;
  printf("ok %s\n", version);
  return 0;
}
