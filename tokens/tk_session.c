/* SPDX-License-Identifier: Apache-2.0 */
/* What every sealgate-token command shares: how a failure is reported,
 * where the configuration, the module, the token and the user PIN come
 * from, and opening (and logging in to) the token. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "sg_cli.h"
#include "sg_config.h"
#include "sg_err.h"
#include "sg_secret.h"
#include "tk_cli.h"
#include "tk_pin.h"

int
tk_fail(const char *what, const char *why_fmt, ...)
{
	va_list ap;

	va_start(ap, why_fmt);
	(void)sg_cli_vfail(tk_last_error, sizeof(tk_last_error), what, why_fmt, ap);
	va_end(ap);
	return TK_EXIT_FAIL;
}

/* Settings from the configuration file, when there is one. */
static struct sg_config *loaded_config;

const struct sg_config *
tk_config(void)
{
	return loaded_config;
}

void
tk_unload_config(void)
{
	sg_config_free(loaded_config);
	loaded_config = NULL;
}

int
tk_load_config(const struct tk_opts *o)
{
	const char *path = o->config;
	char err[512];
	int explicit_path = 1, r;

	if (path == NULL && (path = getenv("SEALGATE_CONFIG")) == NULL) {
		path = TK_DEFAULT_CONFIG;
		explicit_path = 0;
	}
	if (!explicit_path && access(path, F_OK) != 0)
		return 0;
	if ((r = sg_config_load_file(path, &loaded_config, err, sizeof(err))) != 0)
		return tk_fail(path, "%s", err[0] != '\0' ? err : sg_strerror(r));
	return 0;
}

const char *
tk_module(const struct tk_opts *o)
{
	const char *module = o->module;

	if (module == NULL && loaded_config != NULL)
		module = loaded_config->token.module;
	if (module == NULL)
		module = getenv("SEALGATE_PKCS11_MODULE");
	return module != NULL ? module : SG_DEFAULT_MODULE_PATH;
}

int
tk_open(const struct tk_opts *o, int login, struct sgp11_ctx **ctxp)
{
	const char *module = tk_module(o), *label = o->token, *why;
	char *pin = NULL;
	char bad[64];
	int r;

	*ctxp = NULL;
	if (label == NULL && loaded_config != NULL)
		label = loaded_config->token.label;
	if (label == NULL)
		label = getenv("SEALGATE_TOKEN_LABEL");
	if (label == NULL)
		return sg_cli_usage("no token label: give --token, a config, or SEALGATE_TOKEN_LABEL");
	if (sgp11_uri_check(label, bad, sizeof(bad)) != 0)
		return tk_fail("open token", "bad PKCS#11 URI \"%s\": attribute %s", label, bad);
	if ((r = sgp11_open(module, label, ctxp)) != 0) {
		if (r == SG_ERR_TOKEN_NOT_FOUND && sgp11_uri_is(label))
			return tk_fail("open token", "no initialised token matches \"%s\" in %s",
			    label, module);
		if (r == SG_ERR_INVALID_ARG && sgp11_uri_is(label))
			return tk_fail("open token",
			    "PKCS#11 URI \"%s\": module-path or module-name is not %s", label, module);
		if (r == SG_ERR_TOKEN_NOT_FOUND)
			return tk_fail("open token", "no initialised token labelled \"%s\" in %s",
			    label, module);
		return tk_fail("open token", "%s: %s", module, sg_strerror(r));
	}
	if (!login)
		return 0;
	if ((r = tk_pin_get(o->pin_file != NULL ? o->pin_file :
	    loaded_config != NULL ? loaded_config->token.pin_file : NULL,
	    "SEALGATE_PIN", "User PIN: ", 0, &pin, &why)) != 0) {
		sgp11_close(*ctxp);
		*ctxp = NULL;
		return tk_fail("user PIN", "%s", why);
	}
	r = sgp11_login(*ctxp, pin);
	sg_free_secret_str(pin);
	if (r != 0) {
		sgp11_close(*ctxp);
		*ctxp = NULL;
		return tk_fail("log in", "%s", sg_strerror(r));
	}
	return 0;
}
