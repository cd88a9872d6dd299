# The two README commands: `make run` (server + demo on SQLite) and `make test` (everything).
# Both create the virtual environment and install what they need on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sip serve --demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(STAMP)
	$(BIN)/pybabel extract --mapping-file=babel.cfg --output-file=core/locale/messages.pot \
		--project="Smart in Progress" --copyright-holder="Smart" \
		--msgid-bugs-address=sip@smart.coop --sort-by-file .
	for lang in nl fr en; do \
		$(BIN)/pybabel update --input-file=core/locale/messages.pot --output-dir=core/locale \
			--locale=$$lang --init-missing --ignore-obsolete --ignore-pot-creation-date || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
