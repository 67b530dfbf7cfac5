/* fake-anthropic request log: body summaries, headers, lines, dumps. */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_fake.h"
#include "fake.h"
#include "json.h"

/* A body shaped like the CLI's: system blocks, a system message, tools. */
static const char *cli_body =
    "{\"model\":\"claude-opus-5-5\",\"max_tokens\":128000,\"stream\":true,"
    "\"system\":[{\"type\":\"text\",\"text\":\"billing\"},"
    "{\"type\":\"text\",\"text\":\"main prompt\","
    "\"cache_control\":{\"type\":\"ephemeral\"}}],"
    "\"tools\":[{\"name\":\"Bash\"},{\"name\":\"Skill\"},{\"x\":1}],"
    "\"messages\":["
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"go\"}]},"
    "{\"role\":\"system\",\"content\":\"- demo-skill: a demo\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
    "\"id\":\"t1\",\"name\":\"Skill\",\"input\":{}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
    "\"tool_use_id\":\"t1\",\"content\":\"Launching skill: demo-skill\"},"
    "{\"type\":\"text\",\"text\":\"# Demo skill\"}]},"
    "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"s1\"},"
    "{\"type\":\"text\",\"text\":\"s2\"}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
    "\"tool_use_id\":\"t2\",\"is_error\":true,\"content\":["
    "{\"type\":\"text\",\"text\":\"e1\"},{\"type\":\"image\"},"
    "{\"type\":\"text\",\"text\":\"e2\"}]}]},"
    "{\"role\":\"user\",\"content\":\"plain\"},"
    "{\"content\":\"no role\"},42]}";

START_TEST(test_reqlog_summary)
{
	struct json_object	*b, *s;

	b = fake_json(cli_body);
	s = reqlog_summary(b);
	ck_assert_str_eq(json_str(s), "{\"model\":\"claude-opus-5-5\","
	    "\"stream\":true,\"max_tokens\":128000,\"n_messages\":9,"
	    "\"n_assistant\":1,\"tools\":[\"Bash\",\"Skill\"],"
	    "\"system\":[\"billing\",\"main prompt\"],"
	    "\"system_messages\":[\"- demo-skill: a demo\",\"s1\\ns2\"],"
	    "\"tail\":["
	    "{\"role\":\"user\",\"type\":\"tool_result\","
	    "\"text\":\"Launching skill: demo-skill\",\"tool_use_id\":\"t1\","
	    "\"is_error\":false},"
	    "{\"role\":\"user\",\"type\":\"text\",\"text\":\"# Demo skill\"},"
	    "{\"role\":\"user\",\"type\":\"tool_result\",\"text\":\"e1\\ne2\","
	    "\"tool_use_id\":\"t2\",\"is_error\":true},"
	    "{\"role\":\"user\",\"type\":\"text\",\"text\":\"plain\"}]}");
	json_object_put(s);
	ck_assert_uint_eq(reqlog_assistant_turns(b), 1);
	ck_assert_int_eq(reqlog_wants_stream(b), 1);
	json_object_put(b);
}
END_TEST

/* Whatever else the body holds, the summary never fails. */
START_TEST(test_reqlog_odd_bodies)
{
	struct json_object	*b, *s;

	b = fake_json("{\"messages\":[],\"system\":\"just a string\","
	    "\"model\":7,\"tools\":{},\"stream\":\"yes\"}");
	s = reqlog_summary(b);
	ck_assert_str_eq(json_str(s), "{\"model\":\"\",\"stream\":true,"
	    "\"max_tokens\":-1,\"n_messages\":0,\"n_assistant\":0,"
	    "\"tools\":[],\"system\":[\"just a string\"],"
	    "\"system_messages\":[],\"tail\":[]}");
	json_object_put(s);
	json_object_put(b);

	b = fake_json("{\"messages\":[{\"role\":\"assistant\"},"
	    "{\"role\":\"assistant\",\"content\":5},"
	    "{\"role\":\"user\",\"content\":[7,{\"text\":\"untyped\"},"
	    "{\"type\":\"image\"}]}]}");
	s = reqlog_summary(b);
	ck_assert_str_eq(json_str(json_object_object_get(s, "tail")),
	    "[{\"role\":\"user\",\"type\":\"image\"}]");
	ck_assert_int_eq(json_peek_int(s, "n_assistant", -1), 2);
	ck_assert_int_eq(reqlog_wants_stream(b), 0);
	json_object_put(s);
	json_object_put(b);
}
END_TEST

START_TEST(test_reqlog_headers)
{
	struct json_object	*h;

	h = json_object_new_object();
	reqlog_add_header(h, "X-Api-Key", "sk-ant-secret");
	reqlog_add_header(h, "Authorization", "Bearer abc");
	reqlog_add_header(h, "anthropic-beta", "a,b");
	reqlog_add_header(h, "User-Agent", "claude-cli/2.1.330");
	reqlog_add_header(h, "x-stainless-retry-count", "0");
	reqlog_add_header(h, "x-session-token", "t0ken");
	reqlog_add_header(h, "Cookie", "c=1");
	reqlog_add_header(h, "Host", "127.0.0.1:1");
	reqlog_add_header(h, "Connection", "keep-alive");
	ck_assert_str_eq(json_str(h), "{\"x-api-key\":\"<redacted len=13>\","
	    "\"authorization\":\"<redacted len=10>\","
	    "\"anthropic-beta\":\"a,b\","
	    "\"user-agent\":\"claude-cli/2.1.330\","
	    "\"x-stainless-retry-count\":\"0\","
	    "\"x-session-token\":\"<redacted len=5>\"}");
	json_object_put(h);
}
END_TEST

START_TEST(test_reqlog_write_and_dump)
{
	struct json_object	*o;
	char			 dir[] = "/tmp/check_fake.XXXXXX", path[64];
	char			 text[64], *cause = NULL;
	int			 fds[2], fd;
	ssize_t			 n;

	ck_assert_int_eq(pipe(fds), 0);
	o = fake_json("{\"n\":1,\"s\":\"a\\nb\"}");
	ck_assert_int_eq(reqlog_write(fds[1], o), 0);
	json_object_put(o);
	n = read(fds[0], text, sizeof(text) - 1);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	ck_assert_str_eq(text, "{\"n\":1,\"s\":\"a\\nb\"}\n");
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	o = fake_json("{}");
	ck_assert_int_eq(reqlog_write(fds[1], o), -1);
	json_object_put(o);
	close(fds[1]);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(reqlog_dump(dir, 7, "{\"a\":1}", 7, &cause), 0);
	snprintf(path, sizeof(path), "%s/request-0007.json", dir);
	fd = open(path, O_RDONLY);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(read(fd, text, sizeof(text)), 7);
	ck_assert_int_eq(memcmp(text, "{\"a\":1}", 7), 0);
	close(fd);
	unlink(path);
	rmdir(dir);
	ck_assert_int_eq(reqlog_dump(dir, 8, "x", 1, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "request-0008.json: No such "
	    "file or directory"));
	free(cause);
}
END_TEST

Suite *
fake_reqlog_suite(void)
{
	Suite	*s = suite_create("fake_reqlog");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_reqlog_summary);
	tcase_add_test(tc, test_reqlog_odd_bodies);
	tcase_add_test(tc, test_reqlog_headers);
	tcase_add_test(tc, test_reqlog_write_and_dump);
	suite_add_tcase(s, tc);
	return (s);
}
