# Two entry points: `make run` (EVA's main job) and `make test` (the whole suite).
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip

.PHONY: run test lint bench clean system

# Speech needs espeak-ng (pyttsx3's engine) and PortAudio (sounddevice); the
# dashboard's end-to-end test runs `eva` in tmux. Installed with apt-get when
# missing, as root or through sudo.
SYSTEM_PACKAGES := espeak-ng libportaudio2 tmux
# The tests also start a throwaway PostgreSQL server where PostgreSQL is the subject.
test: SYSTEM_PACKAGES += postgresql

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

run: system $(VENV)/.installed
	$(VENV)/bin/eva --sagas 10 --failure-rate 0.1 --crash-rate 0.02

test: system $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

bench: $(VENV)/.installed-dev
	$(PIP) install --quiet -e ".[dev,bench]"
	$(VENV)/bin/mypy bench
	$(PY) -m bench.sagas --quick
	$(PY) -m bench.journal --quick
	$(PY) -m bench.voice --quick
	$(PY) -m bench.tui --quick
	$(PY) -m bench.actors --quick

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
