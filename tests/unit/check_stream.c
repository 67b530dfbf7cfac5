/*
 * The stream-json parser: chunking at every byte, init found anywhere,
 * the terminal result, garbage and overlong lines, trimming, redaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"
#include "stream.h"
#include "xmalloc.h"
#include "check_worker.h"

#define MAXEV	64

/* What the callback saw. */
struct seen {
	size_t	 n;
	int	 kinds[MAXEV];
	char	*json[MAXEV];
};

static void
seen_cb(void *arg, const struct stream_event *ev)
{
	struct seen	*sn = arg;

	ck_assert_ptr_nonnull(ev->se_json);
	if (sn->n == MAXEV)
		return;
	sn->kinds[sn->n] = ev->se_kind;
	sn->json[sn->n++] = xstrdup(json_object_to_json_string_ext(
	    ev->se_json, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void
seen_free(struct seen *sn)
{
	size_t	i;

	for (i = 0; i < sn->n; i++)
		free(sn->json[i]);
	sn->n = 0;
}

/* Feed text in chunks of step bytes, then finish. */
static struct stream *
feed(struct seen *sn, const char *text, size_t len, size_t step)
{
	struct stream	*s;
	size_t		 off, n;

	memset(sn, 0, sizeof(*sn));
	s = stream_new(seen_cb, sn);
	for (off = 0; off < len; off += n) {
		n = len - off < step ? len - off : step;
		stream_feed(s, text + off, n);
	}
	stream_finish(s);
	return (s);
}

static struct stream *
feed_str(struct seen *sn, const char *text)
{
	return (feed(sn, text, strlen(text), strlen(text) + 1));
}

static void
check_sample(struct stream *s, struct seen *sn)
{
	const struct stream_init	*si = stream_init(s);
	const struct stream_result	*sr = stream_result(s);

	ck_assert(si->si_seen);
	ck_assert_str_eq(si->si_session_id,
	    "97008857-f8f8-4026-a0ab-d94070945456");
	ck_assert_str_eq(si->si_model, "claude-opus-5-5");
	ck_assert_str_eq(si->si_version, "2.1.330");
	ck_assert_uint_eq(si->si_ntools, 22);
	ck_assert_uint_eq(si->si_nskills, 16);
	ck_assert(stream_offers_skill(s, "code-review"));
	ck_assert(!stream_offers_skill(s, "run-and-fix-tests"));
	ck_assert(stream_done(s));
	ck_assert_str_eq(sr->sr_subtype, "success");
	ck_assert_int_eq(sr->sr_is_error, 0);
	ck_assert_str_eq(sr->sr_text, "done");
	ck_assert_int_eq(sr->sr_num_turns, 2);
	ck_assert_int_eq(sr->sr_duration_ms, 346);
	ck_assert_double_eq_tol(sr->sr_cost_usd, 0.023248, 1e-9);
	ck_assert_str_eq(sr->sr_terminal_reason, "completed");
	ck_assert_int_eq(sr->sr_api_error_status, -1);
	ck_assert_uint_eq(sr->sr_permission_denials, 0);
	ck_assert_uint_eq(sn->n, 5);
	ck_assert_int_eq(sn->kinds[0], STREAM_INIT);
	ck_assert_int_eq(sn->kinds[1], STREAM_TOOL_USE);
	ck_assert_int_eq(sn->kinds[2], STREAM_TOOL_RESULT);
	ck_assert_int_eq(sn->kinds[3], STREAM_TEXT);
	ck_assert_int_eq(sn->kinds[4], STREAM_RESULT);
	ck_assert_str_eq(sn->json[1],
	    "{\"kind\":\"tool_use\",\"tool\":\"Bash\","
	    "\"id\":\"toolu_fake000001\",\"input\":\"{\\\"command\\\":\\\"echo "
	    "hello > out.txt && ls\\\",\\\"description\\\":\\\"Create out.txt "
	    "and list files\\\"}\"}");
	ck_assert_str_eq(sn->json[2], "{\"kind\":\"tool_result\",\"id\":"
	    "\"toolu_fake000001\",\"is_error\":false,\"text\":\"out.txt\"}");
	ck_assert_str_eq(sn->json[3], "{\"kind\":\"text\",\"text\":\"done\"}");
	ck_assert_uint_eq(stream_stats(s)->st_garbage, 0);
	ck_assert_uint_eq(stream_stats(s)->st_lines, 5);
}

/* The reference run, fed whole and split at every chunk size. */
START_TEST(test_stream_sample)
{
	struct stream	*s;
	struct seen	 sn;
	char		*text;
	size_t		 len, step;

	text = test_data("stream-sample.jsonl", &len);
	for (step = 1; step <= len; step += step < 64 ? 1 : 997) {
		s = feed(&sn, text, len, step);
		check_sample(s, &sn);
		ck_assert_uint_eq(stream_stats(s)->st_bytes, len);
		seen_free(&sn);
		stream_free(&s);
		ck_assert_ptr_null(s);
	}
	free(text);
}
END_TEST

START_TEST(test_stream_init_not_first)
{
	struct stream	*s;
	struct seen	 sn;

	s = feed_str(&sn,
	    "{\"type\":\"system\",\"subtype\":\"ui_invalidate\"}\n"
	    "\n"
	    "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":"
	    "\"text\",\"text\":\"hi\"}]}}\n"
	    "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s1\","
	    "\"model\":\"m\",\"skills\":[\"run-and-fix-tests\",7],"
	    "\"tools\":[\"Bash\",\"Skill\"]}\n"
	    "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":"
	    "\"s2\"}\n");
	ck_assert(stream_init(s)->si_seen);
	ck_assert_str_eq(stream_init(s)->si_session_id, "s1");
	ck_assert_uint_eq(stream_init(s)->si_nskills, 1);
	ck_assert(stream_offers_skill(s, "run-and-fix-tests"));
	ck_assert(!stream_done(s));
	ck_assert_uint_eq(sn.n, 3);
	ck_assert_int_eq(sn.kinds[0], STREAM_SYSTEM);
	ck_assert_str_eq(sn.json[0], "{\"kind\":\"system\",\"subtype\":"
	    "\"ui_invalidate\"}");
	ck_assert_int_eq(sn.kinds[2], STREAM_INIT);
	ck_assert_str_eq(sn.json[2], "{\"kind\":\"init\",\"session_id\":\"s1\","
	    "\"model\":\"m\",\"skills\":[\"run-and-fix-tests\"],\"tools\":2}");
	seen_free(&sn);
	stream_free(&s);
}
END_TEST

/* An API error: subtype success, is_error true; a failure all the same. */
START_TEST(test_stream_result_error)
{
	struct stream			*s;
	const struct stream_result	*sr;
	struct json_object		*agent;
	struct seen			 sn;

	s = feed_str(&sn,
	    "{\"type\":\"assistant\",\"message\":{\"model\":\"<synthetic>\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"API Error: 500\"}]},"
	    "\"is_api_error_message\":true}\n"
	    "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":true,"
	    "\"result\":\"API Error: 500\",\"num_turns\":1,\"duration_ms\":9,"
	    "\"total_cost_usd\":0,\"terminal_reason\":\"api_error\","
	    "\"api_error_status\":500,\"session_id\":\"s\",\"errors\":[\"a\","
	    "\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\"],"
	    "\"permission_denials\":[{\"tool_name\":\"Bash\"}]}\n");
	sr = stream_result(s);
	ck_assert(sr->sr_seen);
	ck_assert_str_eq(sr->sr_subtype, "success");
	ck_assert_int_eq(sr->sr_is_error, 1);
	ck_assert_int_eq(sr->sr_api_error_status, 500);
	ck_assert_str_eq(sr->sr_terminal_reason, "api_error");
	ck_assert_uint_eq(sr->sr_nerrors, STREAM_ERRORS_MAX);
	ck_assert_uint_eq(sr->sr_permission_denials, 1);
	ck_assert_int_eq(sn.kinds[1], STREAM_RESULT);
	ck_assert_ptr_nonnull(strstr(sn.json[1], "\"is_error\":true"));
	ck_assert_ptr_nonnull(strstr(sn.json[1],
	    "\"text\":\"API Error: 500\""));
	agent = stream_agent_json(s);
	ck_assert_str_eq(json_object_to_json_string_ext(agent,
	    JSON_C_TO_STRING_PLAIN), "{\"session_id\":\"s\",\"model\":null,"
	    "\"claude_code_version\":null,\"subtype\":\"success\","
	    "\"is_error\":true,\"terminal_reason\":\"api_error\","
	    "\"num_turns\":1,\"total_cost_usd\":0.0,\"duration_ms\":9,"
	    "\"api_error_status\":500,\"permission_denials\":1,\"errors\":"
	    "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"],"
	    "\"skills_used\":[]}");
	json_object_put(agent);
	seen_free(&sn);
	stream_free(&s);
}
END_TEST

/* Lines after the first result are ignored, even other results. */
START_TEST(test_stream_after_result)
{
	struct stream	*s;
	struct seen	 sn;
	const char	*tail = "{\"type\":\"assistant\",\"message\":"
	    "{\"content\":"
	    "[{\"type\":\"text\",\"text\":\"late\"}]}}\n"
	    "{\"type\":\"result\",\"subtype\":\"error_max_turns\"}\nnot json\n";

	s = feed_str(&sn, "{\"type\":\"result\",\"subtype\":\"success\","
	    "\"result\":\"first\"}\n");
	stream_feed(s, tail, strlen(tail));
	stream_finish(s);
	ck_assert_uint_eq(sn.n, 1);
	ck_assert_str_eq(stream_result(s)->sr_subtype, "success");
	ck_assert_str_eq(stream_result(s)->sr_text, "first");
	ck_assert_uint_eq(stream_stats(s)->st_ignored, strlen(tail));
	ck_assert_uint_eq(stream_stats(s)->st_garbage, 0);
	seen_free(&sn);
	stream_free(&s);
}
END_TEST

START_TEST(test_stream_garbage)
{
	struct stream	*s;
	struct seen	 sn;
	const char	*text = "not json at all\n[1,2]\n{broken\n\xff\xfe\n"
	    "\"str\"\n{\"no\":\"type\"}\n{\"type\":\"stream_event\"}\n"
	    "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":"
	    "\"text\",\"text\":\"still here\"}]}}\n";

	s = feed(&sn, text, strlen(text), 7);
	ck_assert_uint_eq(stream_stats(s)->st_garbage, 5);
	ck_assert_uint_eq(stream_stats(s)->st_other, 2);
	ck_assert_str_eq(stream_stats(s)->st_sample, "not json at all");
	ck_assert_uint_eq(sn.n, 1);
	ck_assert_str_eq(sn.json[0], "{\"kind\":\"text\",\"text\":"
	    "\"still here\"}");
	seen_free(&sn);
	stream_free(&s);
}
END_TEST

/* A line over the cap is skipped whether it is split or whole. */
START_TEST(test_stream_overlong)
{
	struct stream	*s;
	struct seen	 sn;
	char		 line[600];
	const char	*ok = "{\"type\":\"assistant\",\"message\":"
	    "{\"content\":"
	    "[{\"type\":\"text\",\"text\":\"ok\"}]}}\n";

	memset(&sn, 0, sizeof(sn));
	memset(line, 'x', sizeof(line));
	line[sizeof(line) - 1] = '\n';
	s = stream_new(seen_cb, &sn);
	stream_set_limits(s, 100, 2048);
	stream_feed(s, line, 50);
	stream_feed(s, line, 300);
	stream_feed(s, line + 350, sizeof(line) - 350);
	stream_feed(s, ok, strlen(ok));
	stream_feed(s, line, sizeof(line));
	stream_feed(s, ok, 30);
	stream_feed(s, ok + 30, strlen(ok) - 30);
	stream_finish(s);
	ck_assert_uint_eq(stream_stats(s)->st_overlong, 2);
	ck_assert_uint_eq(stream_stats(s)->st_garbage, 0);
	ck_assert_uint_eq(sn.n, 2);
	seen_free(&sn);
	stream_free(&s);
}
END_TEST

/* Long text is clipped with a marker; secrets are redacted everywhere. */
START_TEST(test_stream_trim_redact)
{
	struct stream	*s;
	struct seen	 sn;
	struct buf	 b;
	size_t		 i;

	ck_assert_int_eq(redact_add("hunter2-canary"), 0);
	buf_init(&b, 1 << 20);
	buf_addstr(&b, "{\"type\":\"assistant\",\"message\":{\"content\":[{"
	    "\"type\":\"text\",\"text\":\"");
	for (i = 0; i < 1000; i++)
		buf_addstr(&b, "0123456789");
	buf_addstr(&b, "\"},{\"type\":\"tool_use\",\"name\":\"Bash\",\"input\":"
	    "{\"command\":\"echo hunter2-canary\"}}]}}\n{\"type\":\"user\","
	    "\"message\":{\"content\":[{\"type\":\"tool_result\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"key sk-ant-api03-abcdefghijkl\"}],"
	    "\"is_error\":true}]}}\n{\"type\":\"result\",\"result\":"
	    "\"done hunter2-canary\",\"session_id\":\"hunter2-canary\"}\n");
	s = feed(&sn, buf_str(&b), buf_len(&b), 4096);
	ck_assert_uint_eq(sn.n, 4);
	ck_assert_ptr_nonnull(strstr(sn.json[0],
	    "01234567\xe2\x80\xa6[truncated 7952 bytes]\"}"));
	ck_assert_uint_le(strlen(sn.json[0]), 2048 + 64);
	for (i = 0; i < sn.n; i++)
		ck_assert_msg(strstr(sn.json[i], "hunter2") == NULL &&
		    strstr(sn.json[i], "sk-ant") == NULL, "%s", sn.json[i]);
	ck_assert_ptr_nonnull(strstr(sn.json[1], "echo [REDACTED]"));
	ck_assert_ptr_nonnull(strstr(sn.json[2], "\"is_error\":true"));
	ck_assert_str_eq(stream_result(s)->sr_text, "done [REDACTED]");
	ck_assert_str_eq(stream_result(s)->sr_session_id, "[REDACTED]");
	buf_free(&b);
	seen_free(&sn);
	stream_free(&s);
	redact_clear();
}
END_TEST

/* UTF-8 split across chunks survives; Skill uses are recorded once. */
START_TEST(test_stream_utf8_skills)
{
	struct stream	*s;
	struct seen	 sn;
	const char	*text =
	    "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":"
	    "\"text\",\"text\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"},"
	    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Skill\","
	    "\"input\":{\"skill\":\"run-and-fix-tests\"}}]}}\n"
	    "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":"
	    "\"tool_use\",\"name\":\"Skill\",\"input\":{\"skill\":"
	    "\"run-and-fix-tests\"}},{\"type\":\"tool_use\",\"name\":\"Skill\","
	    "\"input\":{\"skill\":\"report-result\"}}]}}\n"
	    "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":\"text\","
	    "\"text\":\"Base directory for this skill\"}]}}\n"
	    "{\"type\":\"system\",\"subtype\":\"api_retry\",\"attempt\":1,"
	    "\"error_status\":529,\"error\":\"overloaded\"}";

	s = feed(&sn, text, strlen(text), 1);
	ck_assert_str_eq(sn.json[0], "{\"kind\":\"text\",\"text\":"
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}");
	ck_assert_ptr_nonnull(strstr(sn.json[1],
	    "\"skill\":\"run-and-fix-tests\""));
	ck_assert_uint_eq(stream_nused(s), 2);
	ck_assert_str_eq(stream_used(s, 0), "run-and-fix-tests");
	ck_assert_str_eq(stream_used(s, 1), "report-result");
	ck_assert_ptr_null(stream_used(s, 2));
	ck_assert_uint_eq(stream_stats(s)->st_other, 1);
	/* The last line had no newline: stream_finish parsed it. */
	ck_assert_uint_eq(sn.n, 5);
	ck_assert_str_eq(sn.json[4], "{\"kind\":\"system\",\"subtype\":"
	    "\"api_retry\",\"attempt\":1,\"error_status\":529,\"error\":"
	    "\"overloaded\"}");
	ck_assert_str_eq(stream_kind_name(STREAM_TOOL_RESULT), "tool_result");
	ck_assert_str_eq(stream_kind_name(STREAM_KIND_MAX), "unknown");
	seen_free(&sn);
	stream_free(&s);
}
END_TEST

/* The pipeline's check that init offered every skill of the bundle. */
START_TEST(test_stream_check_skills)
{
	struct skills	*sp;
	struct stream	*s;
	struct seen	 sn;
	char		 dir[1024], *cause = NULL;
	const char	*top = getenv("abs_top_srcdir");

	snprintf(dir, sizeof(dir), "%s/skills", top != NULL ? top : SRCDIR);
	ck_assert_msg(skills_load(dir, NULL, &sp, &cause) == 0, "%s", cause);
	s = feed_str(&sn, "{\"type\":\"assistant\"}\n");
	ck_assert_int_eq(stream_check_skills(s, sp, &cause), -1);
	ck_assert_str_eq(cause, "Claude Code sent no init event");
	free(cause);
	cause = NULL;
	stream_free(&s);
	s = feed_str(&sn, "{\"type\":\"system\",\"subtype\":\"init\","
	    "\"skills\":[\"report-result\",\"run-and-fix-tests\","
	    "\"bootstrap-repo\",\"debug\"]}\n");
	ck_assert_int_eq(stream_check_skills(s, sp, &cause), -1);
	ck_assert_str_eq(cause, "Claude Code did not offer the bundle's "
	    "skills: refactor-and-verify, run-data-experiment");
	free(cause);
	cause = NULL;
	seen_free(&sn);
	stream_free(&s);
	s = feed_str(&sn, "{\"type\":\"system\",\"subtype\":\"init\","
	    "\"skills\":[\"report-result\",\"run-and-fix-tests\","
	    "\"bootstrap-repo\",\"refactor-and-verify\","
	    "\"run-data-experiment\"]}\n");
	ck_assert_int_eq(stream_check_skills(s, sp, &cause), 0);
	ck_assert_ptr_null(cause);
	seen_free(&sn);
	stream_free(&s);
	skills_free(&sp);
}
END_TEST

Suite *
stream_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("stream");
	tc = tcase_create("parse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stream_sample);
	tcase_add_test(tc, test_stream_init_not_first);
	tcase_add_test(tc, test_stream_result_error);
	tcase_add_test(tc, test_stream_after_result);
	tcase_add_test(tc, test_stream_garbage);
	tcase_add_test(tc, test_stream_overlong);
	tcase_add_test(tc, test_stream_trim_redact);
	tcase_add_test(tc, test_stream_utf8_skills);
	tcase_add_test(tc, test_stream_check_skills);
	suite_add_tcase(s, tc);
	return (s);
}
