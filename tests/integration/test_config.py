"""podcastpro-ctl check-config and the frame: masking, every problem at
once with exit 78, env files, usage errors, and the example env file that
must list every setting with its default."""
import os
import re
import subprocess

import pp

EXAMPLE = os.path.join(pp.ROOT, "etc", "podcast-pro.env.example")


def clean_env(**settings):
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS")}
    env.update(settings)
    return env


def ctl(*args, **settings):
    return subprocess.run([pp.binary("podcastpro-ctl"), *args], env=clean_env(**settings),
                          capture_output=True, text=True, timeout=30)


def dump_lines(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_prints_config_with_secrets_masked():
    r = ctl("check-config", DATABASE_URL="postgresql://pp:hunter2pw@db.internal:5432/pp?sslmode=require",
            SUPABASE_JWT_SECRET="jwt-very-secret-value", AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
            AWS_SECRET_ACCESS_KEY="aws-secret-value", AWS_S3_BUCKET_NAME="bucket",
            GOOGLE_API_KEY="google-key-value", DB_POOL_SIZE="7", SQL_ECHO="yes")
    assert r.returncode == 0, r.stderr
    for secret in ("hunter2pw", "jwt-very-secret-value", "aws-secret-value", "google-key-value"):
        assert secret not in r.stdout
    values = dump_lines(r.stdout)
    assert values["DATABASE_URL"] == "postgresql://pp:****@db.internal:5432/pp?sslmode=require"
    assert values["SUPABASE_JWT_SECRET"].startswith("****")
    assert values["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE"
    assert values["DB_POOL_SIZE"] == "7"
    assert values["SQL_ECHO"] == "true"
    assert values["DB_MAX_OVERFLOW"] == "5"


def test_every_problem_at_once_exit_78():
    r = ctl("check-config", DB_POOL_SIZE="zero", LOG_LEVEL="loud", REDIS_URL="http://nope",
            TASK_SOFT_TIME_LIMIT="3000", TASK_HARD_TIME_LIMIT="100")
    assert r.returncode == 78
    assert r.stdout == ""
    for name in ("DB_POOL_SIZE", "LOG_LEVEL", "REDIS_URL", "TASK_HARD_TIME_LIMIT", "DATABASE_URL",
                 "SUPABASE_JWT_SECRET"):
        assert name in r.stderr, name
    assert "6 problems" in r.stderr


def test_for_narrows_what_is_required():
    # The ctl alone needs neither the database nor the JWT secret.
    r = ctl("check-config", "--for", "ctl")
    assert r.returncode == 0, r.stderr
    assert "DATABASE_URL=  # unset" in r.stdout
    # The worker needs the database, not the JWT secret.
    r = ctl("check-config", "--for", "worker")
    assert r.returncode == 78
    assert "DATABASE_URL" in r.stderr and "SUPABASE_JWT_SECRET" not in r.stderr
    assert ctl("check-config", "--for", "worker", DATABASE_URL="postgresql://h/db").returncode == 0
    r = ctl("check-config", "--for", "bogus")
    assert r.returncode == 2


def test_env_file_and_environment_wins(tmp_path):
    env_file = tmp_path / "pp.env"
    env_file.write_text("# a comment\nDATABASE_URL=postgresql://filehost/db\nSUPABASE_JWT_SECRET='from file'\n"
                        "DB_POOL_SIZE=9\nLOG_LEVEL=debug\n")
    r = ctl("--env-file", str(env_file), "check-config", LOG_LEVEL="warning")
    assert r.returncode == 0, r.stderr
    values = dump_lines(r.stdout)
    assert values["DATABASE_URL"] == "postgresql://filehost/db"
    assert values["DB_POOL_SIZE"] == "9"
    assert values["LOG_LEVEL"] == "warning"
    r = ctl("--env-file", str(tmp_path / "missing.env"), "check-config", "--for", "ctl")
    assert r.returncode == 78
    assert "missing.env" in r.stderr


def test_usage_and_help():
    r = ctl("--help")
    assert r.returncode == 0
    assert re.search(r"^\s+migrate\s+\S", r.stdout, re.M)
    assert re.search(r"^\s+check-config\s+\S", r.stdout, re.M)
    assert "--env-file" in r.stdout
    r = ctl("--version")
    assert r.returncode == 0 and r.stdout.startswith("podcastpro-ctl ")
    assert ctl().returncode == 2
    r = ctl("no-such-command")
    assert r.returncode == 2 and "no-such-command" in r.stderr
    assert ctl("check-config", "--no-such-option").returncode == 2
    assert ctl("--no-such-option", "check-config").returncode == 2


def test_example_env_file_lists_every_setting_with_its_default():
    """Every setting config_dump prints (with nothing set) appears in
    etc/podcast-pro.env.example as NAME=default, commented or not: the
    table and the example cannot drift apart."""
    r = ctl("check-config", "--for", "ctl")
    assert r.returncode == 0, r.stderr
    defaults = {}
    for line in r.stdout.splitlines():
        name, value = line.split("=", 1)
        defaults[name] = "" if value.endswith("# unset") else value
    assert len(defaults) > 50
    example = {}
    with open(EXAMPLE) as f:
        for line in f:
            m = re.match(r"^#?([A-Z][A-Z0-9_]*)=(.*)$", line.rstrip("\n"))
            if m:
                value = m.group(2)
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                example.setdefault(m.group(1), set()).add(value)
    missing = sorted(set(defaults) - set(example))
    assert not missing, f"not in {EXAMPLE}: {missing}"
    wrong = sorted(n for n, v in defaults.items() if v not in example[n])
    assert not wrong, f"defaults differ in {EXAMPLE}: {wrong}"
    unknown = sorted(set(example) - set(defaults))
    assert not unknown, f"{EXAMPLE} lists settings the program does not know: {unknown}"
