# edge-agent: two commands matter. `make demo` runs a simulated branch; `make test` checks everything.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSDEPS := mosquitto mosquitto-clients socat dbus libdbus-1-dev libglib2.0-dev pkg-config openssl systemd \
           build-essential python3-dev python3-venv

.PHONY: demo test venv sysdeps lint typecheck bench models media clean schema

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

# System packages the tests talk to (real broker, ptys, D-Bus). Installed only where missing.
sysdeps:
	@missing=""; for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

models: venv
	$(BIN)/edge-agent models fetch

media: venv
	$(BIN)/python -m edge_agent.vision.media fetch

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

schema: venv
	$(BIN)/edge-agent config schema --builtin-only > config/schema.json

test: sysdeps venv models media
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider

demo: sysdeps venv models media
	$(BIN)/python -m edge_agent.demo

bench: venv models media
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
