# The two commands a new machine needs: `make demo` and `make test`. Both set the machine up first.
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --locked
TS_FILES := $(wildcard translations/*.ts)
QM_FILES := $(TS_FILES:.ts=.qm)

.PHONY: bootstrap demo demo-online test lint bench screenshots translations qm

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap qm
	$(RUN) kiosk --demo --windowed

# The demo as a locker of an operator's network: the fake platform (seeded) and the kiosk syncing with it.
# Secrets, config and databases in var/demo-online/; kiosk options through ARGS, e.g. ARGS=--verbose.
demo-online: bootstrap qm
	$(RUN) python -m kiosk.testing.demo_online $(ARGS)

test: bootstrap qm lint
	QT_QPA_PLATFORM=offscreen $(RUN) pytest -q

lint: bootstrap
	$(RUN) ruff check kiosk hal tests
	$(RUN) mypy
	$(RUN) lint-imports --no-cache

bench: bootstrap qm
	QT_QPA_PLATFORM=offscreen $(RUN) python tests/benchmarks/run.py

screenshots: bootstrap qm
	xvfb-run -a -s "-screen 0 1920x2000x24" $(RUN) python -m kiosk.testing.screenshots docs/screenshots

# Re-extract every tr() string into the .ts sources (commit those), then build the .qm files.
translations: bootstrap
	$(RUN) pyside6-lupdate -no-obsolete -extensions py kiosk/ui kiosk/mail.py -ts translations/kiosk_de.ts
	# English is the source language: its file holds only the plural forms ("1 attempt", "2 attempts").
	$(RUN) pyside6-lupdate -no-obsolete -pluralonly -extensions py kiosk/ui kiosk/mail.py -ts translations/kiosk_en.ts
	$(MAKE) qm

qm: $(QM_FILES)

translations/%.qm: translations/%.ts
	$(RUN) pyside6-lrelease -silent $< -qm $@
