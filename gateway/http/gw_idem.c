/* SPDX-License-Identifier: Apache-2.0 */
/* The idempotency store (see gw_idem.h): one small JSON file per (client,
 * key), named by the SHA-256 of both, written atomically; a striped lock
 * serialises requests that carry the same key. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "gw_idem.h"
#include "sg_config.h"
#include "sg_codec.h"
#include "sg_err.h"
#include "sg_file.h"
#include "sg_log.h"

#define STRIPES 64
#define RECORD_MAX (1024 * 1024)

struct gw_idem {
	char *dir;
	pthread_mutex_t stripe[STRIPES];
};

struct gw_idem_slot {
	unsigned int stripe;
	char path[4096];
	char identity[SG_CONFIG_NAME_MAX + 1];
	char digest[160];
};

int
gw_idem_key_valid(const char *key)
{
	size_t i, n;

	if (key == NULL || (n = strlen(key)) == 0 || n > GW_IDEM_KEY_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (key[i] < 0x21 || key[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* Remove records past their TTL (best effort). */
static void
sweep(struct gw_idem *idem)
{
	DIR *d = opendir(idem->dir);
	struct dirent *de;
	struct stat st;
	char path[4096];
	time_t now = time(NULL);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 69 || strcmp(de->d_name + 64, ".json") != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", idem->dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) == 0 && now - st.st_mtime > GW_IDEM_TTL_S)
			(void)unlink(path);
	}
	closedir(d);
}

int
gw_idem_open(const char *dir, struct gw_idem **ip)
{
	struct gw_idem *idem;
	size_t i;

	*ip = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		sg_error("idempotency store %s: %s", dir, strerror(errno));
		return SG_ERR_IO;
	}
	if ((idem = calloc(1, sizeof(*idem))) == NULL || (idem->dir = strdup(dir)) == NULL) {
		free(idem);
		return SG_ERR_ALLOC;
	}
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_init(&idem->stripe[i], NULL);
	sweep(idem);
	*ip = idem;
	return 0;
}

void
gw_idem_close(struct gw_idem *idem)
{
	size_t i;

	if (idem == NULL)
		return;
	for (i = 0; i < STRIPES; i++)
		pthread_mutex_destroy(&idem->stripe[i]);
	free(idem->dir);
	free(idem);
}

/* The record's file: SHA-256 over client, a NUL, and key. */
static int
record_path(struct gw_idem *idem, const char *client, const char *key, struct gw_idem_slot *slot)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char h[32];
	char *hex = NULL;
	int r = SG_ERR_CRYPTO;

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, client, strlen(client) + 1) == 1 &&
	    EVP_DigestUpdate(md, key, strlen(key)) == 1 && EVP_DigestFinal_ex(md, h, NULL) == 1 &&
	    sg_hex_encode(h, sizeof(h), &hex) == 0) {
		r = snprintf(slot->path, sizeof(slot->path), "%s/%s.json", idem->dir, hex) >=
		    (int)sizeof(slot->path) ? SG_ERR_INVALID_ARG : 0;
		slot->stripe = h[0] % STRIPES;
	}
	EVP_MD_CTX_free(md);
	free(hex);
	return r;
}

int
gw_idem_begin(struct gw_idem *idem, const char *client, const char *key, const char *identity,
    const char *digest,
    struct gw_idem_slot **slotp, char **answerp, size_t *answer_lenp, char **first_idp)
{
	struct gw_idem_slot *slot;
	unsigned char *data = NULL;
	size_t len;
	cJSON *rec = NULL;
	const cJSON *d, *who, *created, *answer, *first;
	int r;

	*slotp = NULL;
	*answerp = NULL;
	*answer_lenp = 0;
	*first_idp = NULL;
	if ((slot = calloc(1, sizeof(*slot))) == NULL)
		return SG_ERR_ALLOC;
	if ((r = record_path(idem, client, key, slot)) != 0 ||
	    snprintf(slot->digest, sizeof(slot->digest), "%s", digest) >= (int)sizeof(slot->digest) ||
	    snprintf(slot->identity, sizeof(slot->identity), "%s", identity) >=
	    (int)sizeof(slot->identity)) {
		free(slot);
		return r != 0 ? r : SG_ERR_INVALID_ARG;
	}
	pthread_mutex_lock(&idem->stripe[slot->stripe]);
	r = sg_file_read(slot->path, RECORD_MAX, &data, &len);
	if (r == SG_ERR_NOT_FOUND) {
		*slotp = slot;
		return GW_IDEM_NEW;
	}
	if (r != 0)
		goto fail;
	rec = cJSON_ParseWithLength((const char *)data, len);
	d = cJSON_GetObjectItemCaseSensitive(rec, "digest");
	who = cJSON_GetObjectItemCaseSensitive(rec, "identity");
	created = cJSON_GetObjectItemCaseSensitive(rec, "created");
	answer = cJSON_GetObjectItemCaseSensitive(rec, "answer");
	first = cJSON_GetObjectItemCaseSensitive(rec, "request_id");
	if (!cJSON_IsString(d) || !cJSON_IsNumber(created) || !cJSON_IsString(answer) ||
	    !cJSON_IsString(first)) {
		sg_warn("idempotency record %s is damaged; treating the key as new", slot->path);
		goto new_key;
	}
	if (time(NULL) - (time_t)created->valuedouble > GW_IDEM_TTL_S)
		goto new_key;
	/* The same key for another identity or another document is not a
	 * repeat: the first answer was sealed by another key, or over other
	 * bytes. A record without an identity predates the field: it cannot
	 * say, so it is no repeat either. */
	if (strcmp(d->valuestring, digest) != 0 || !cJSON_IsString(who) ||
	    strcmp(who->valuestring, identity) != 0) {
		r = GW_IDEM_CONFLICT;
		goto done;
	}
	if ((*answerp = strdup(answer->valuestring)) == NULL ||
	    (*first_idp = strdup(first->valuestring)) == NULL) {
		free(*answerp);
		*answerp = NULL;
		r = SG_ERR_ALLOC;
		goto fail;
	}
	*answer_lenp = strlen(*answerp);
	r = GW_IDEM_REPLAY;
 done:
	pthread_mutex_unlock(&idem->stripe[slot->stripe]);
	free(slot);
	cJSON_Delete(rec);
	free(data);
	return r;
 new_key:
	cJSON_Delete(rec);
	free(data);
	*slotp = slot;
	return GW_IDEM_NEW;
 fail:
	pthread_mutex_unlock(&idem->stripe[slot->stripe]);
	free(slot);
	cJSON_Delete(rec);
	free(data);
	return r;
}

int
gw_idem_store(struct gw_idem *idem, struct gw_idem_slot *slot, const char *request_id,
    const char *answer, size_t len)
{
	cJSON *rec = cJSON_CreateObject();
	char *text = NULL, *copy = NULL;
	int r = SG_ERR_ALLOC;

	if (rec != NULL && (copy = strndup(answer, len)) != NULL &&
	    cJSON_AddStringToObject(rec, "identity", slot->identity) != NULL &&
	    cJSON_AddStringToObject(rec, "digest", slot->digest) != NULL &&
	    cJSON_AddNumberToObject(rec, "created", (double)time(NULL)) != NULL &&
	    cJSON_AddStringToObject(rec, "request_id", request_id) != NULL &&
	    cJSON_AddStringToObject(rec, "answer", copy) != NULL &&
	    (text = cJSON_PrintUnformatted(rec)) != NULL)
		r = sg_file_write_atomic(slot->path, text, strlen(text), 0600);
	if (r != 0)
		sg_error_r(r, "idempotency record %s not written", slot->path);
	cJSON_free(text);
	free(copy);
	cJSON_Delete(rec);
	gw_idem_release(idem, slot);
	return r;
}

void
gw_idem_release(struct gw_idem *idem, struct gw_idem_slot *slot)
{
	if (slot == NULL)
		return;
	pthread_mutex_unlock(&idem->stripe[slot->stripe]);
	free(slot);
}
