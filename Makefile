# The two commands a new user needs: `make run` and `make test`. Both set up
# everything from nothing (a virtual environment in .venv with the project
# and its tools) before they do their job.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The sample content covers three weeks of November 2026; the sample issue is
# the one the scheduler would build on Friday 20 November at 09:00, so that
# `make run` shows a full digest on any date.
SAMPLE_AS_OF ?= 2026-11-20T09:00

.PHONY: setup run test lint format clean packages collected browsers mailserver bench bench-full bench-setup lock audit starting-vectors

setup: $(VENV)/.installed

# The venv's pip installs uv (pinned in constraints.txt), and uv installs the project and its tools: the same pins,
# in 7 s where pip took 42 (a clean clone here). uv compiles no bytecode ahead (compiling all 900 MB of the venv took
# 13 s of CPU): each module is compiled when first imported and kept (`make test` keeps it even where the shell says
# not to, below), and most of the venv is never imported. uv reads none of pip's settings (pip.conf, PIP_INDEX_URL: a
# mirror): where uv cannot install or cannot reach an index, pip does the whole install as before.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	@echo "installing the project and the pins of constraints.txt into $(VENV) with uv (with pip where uv cannot)"
	@{ $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt uv && \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e '.[dev,meaning]'; } || \
	  { echo "uv could not install the packages: pip installs them"; \
	    $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,meaning]'; }
	touch $@

# constraints.txt pins every package the project and its tools use to the versions last tested
# together; setup, CI and the Dockerfile install with it, so a deploy is what was tested. `make lock`
# resolves pyproject.toml afresh in a throw-away venv and writes the file again: review its diff,
# run `make test`, commit. `make audit` checks the pins against the known-vulnerability databases.
LOCK_VENV := .lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '.[dev,meaning]'
	{ echo "# Written by \`make lock\` on $$(date -u +%Y-%m-%d) with Python $$($(LOCK_VENV)/bin/python -c 'import platform; print(platform.python_version())'): do not edit by hand."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude digest; } > constraints.txt
	rm -rf $(LOCK_VENV)

# pip-audit lives in a venv of its own: its dependencies must not move the project's pins. Its JSON
# report is read by .ci/audit_summary.py: pip-audit alone says "No known vulnerabilities found" and exits 0
# when it could audit none of the pins; that is a failure here, saying so.
audit:
	$(PYTHON) -m venv .audit-venv
	.audit-venv/bin/python -m pip install --quiet --disable-pip-version-check pip-audit
	.audit-venv/bin/pip-audit --requirement constraints.txt --no-deps --disable-pip --format json --output .audit-venv/report.json; \
	  $(PYTHON) .ci/audit_summary.py .audit-venv/report.json $$?

# The main job on the embedded defaults: build the sample issue, then deliver
# it to the sample subscribers through the outbox backend (outbox/<issue-id>/).
# `digest sample` uses a database of its own (.digest-sample/) and the outbox
# whatever the config or .env say, so it can never mail a real list. The
# unsubscribe links need a signing key: a random one is put in .env the first
# time (never committed). Running it again sends nothing twice.
run: setup .env
	$(BIN)/digest sample --as-of $(SAMPLE_AS_OF)

.env:
	@echo "DIGEST_SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))')" > $@
	@echo "wrote .env with a new random DIGEST_SECRET_KEY"

lint: setup
	$(BIN)/ruff check digest tests bench
	$(BIN)/ruff format --check digest tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Set-up and lint run beside the Debian packages' install (network and dpkg against pip and mypy). Python keeps its
# compiled modules (__pycache__, ignored by git) for the suite even where the shell says not to
# (PYTHONDONTWRITEBYTECODE, as in the Dockerfile and many CI images): else each digest process the tests start
# compiles digest again (0.15 s of its 1.9 s of CPU), and each worker rewrites every test file's asserts again on
# every run. `collected` rewrites them once, on the core mypy leaves idle, and compiles most of what they import
# (not what a test imports only when it runs), so that no worker does: a worker's collection takes 2.6 s of CPU
# from that cache, 7.9 s without it (four at once: 16 s of two cores).
test:
	@$(MAKE) --no-print-directory -j3 lint packages collected
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest

# A collection alone, for its cache; what it finds wrong, the suite's own collection reports.
collected: setup
	-@env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest --collect-only -qq -n 0 -p no:cacheprovider > /dev/null 2>&1

# Debian packages some tests drive, installed when missing and possible (root with apt-get), all in one
# apt-get call; otherwise, or when apt-get fails (another apt holds the dpkg lock, no network), the tests
# that need them are skipped and say why: the install is best-effort, never a reason to stop. Chromium: the
# preview's browser tests, through Playwright (never a browser download of Playwright's own); Dovecot: the
# IMAP test of `digest bounces fetch`; Postfix and OpenDKIM: the mail-path test (Postfix unconfigured: the
# tests start their own, on free ports, with throwaway configs).
HAS_chromium      := command -v chromium
HAS_dovecot-imapd := command -v dovecot || [ -x /usr/sbin/dovecot ]
HAS_postfix       := [ -x /usr/sbin/postfix ]
HAS_opendkim      := [ -x /usr/sbin/opendkim ]

packages:
	@$(call install_missing,chromium dovecot-imapd postfix opendkim)
browsers:
	@$(call install_missing,chromium)
mailserver:
	@$(call install_missing,dovecot-imapd postfix opendkim)

define install_missing
missing="$(foreach p,$(1),$$( { $(HAS_$(p)); } >/dev/null 2>&1 || echo $(p)))"; set -- $$missing; \
needs=""; for p in "$$@"; do case $$p in chromium) n="the browser tests";; dovecot-imapd) n="the IMAP test";; *) n="the mail-path test";; esac; \
  case "$$needs" in *"$$n"*) ;; *) needs="$${needs:+$$needs and }$$n";; esac; done; \
if [ $$# = 0 ]; then :; \
elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
  echo "installing Debian's $$* for $$needs"; \
  { echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; } 2>/dev/null; \
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$$@" >/dev/null; } \
    || echo "apt-get could not install $$* (see above): $$needs will be skipped"; \
else echo "$$* not installed and cannot be installed here: $$needs will be skipped"; fi
endef

# Benchmarks: figures into bench/results/<date>.md (never timed tests). The peers are installed
# beside the project, never into it: the official MJML compiler with npm into bench/.node (skipped,
# saying so, without npm) and rss2email into its own virtual environment, bench/.peers.
bench: bench-setup
	$(BIN)/python bench/run.py

bench-full: bench-setup
	$(BIN)/python bench/run.py --full

bench-setup: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'pyinstrument>=4.6'
	@if command -v npm >/dev/null 2>&1; then \
	  [ -d bench/.node/node_modules/mjml ] || npm install --prefix bench/.node --no-audit --no-fund --loglevel=error mjml@5.4.1; \
	else echo "npm is not installed: the official MJML comparison will be skipped"; fi
	@[ -x bench/.peers/bin/r2e ] || { $(PYTHON) -m venv bench/.peers && \
	  bench/.peers/bin/python -m pip install --quiet --disable-pip-version-check rss2email==3.14; }

# The sample's starting set, embedded once and shipped beside it (config/labelled-posts.vectors.npz): run after
# editing config/labelled-posts.txt (tests/test_learning.py fails while the two disagree).
starting-vectors: setup
	$(BIN)/python -m digest.issue.meaning.seed config/digest.toml

format: setup
	$(BIN)/ruff check --fix digest tests bench
	$(BIN)/ruff format digest tests bench

clean:
	rm -rf $(VENV) out outbox .digest-cache .digest-sample .pytest_cache .mypy_cache .ruff_cache digest.sqlite digest.sqlite-wal digest.sqlite-shm
