# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
APT_TEST := chromium ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-rtsp gstreamer1.0-libav iproute2 \
	mosquitto mosquitto-clients
# npm: some third-party assets are npm package tarballs (`npm pack`, streamer/runtime/assets.py).
APT_ASSETS := npm

.PHONY: serve test install install-dev apt-test apt-assets assets bench bench-webrtc clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install -q -e '.[dev,train,cluster]'
	touch $@

install: $(VENV)/.installed apt-assets
	$(PY) -m streamer.runtime.assets

install-dev: $(VENV)/.installed-dev apt-test apt-assets
	$(PY) -m streamer.runtime.assets

apt-test:
	@$(MAKE) --no-print-directory apt-install PKGS="$(APT_TEST)"

apt-assets:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory apt-install PKGS="$(APT_ASSETS)"

apt-install:
	@missing=$$(for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing apt packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

serve: install
	$(VENV)/bin/deepfake-streamer serve $(ARGS)

test: install-dev
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q $(ARGS)

bench: install-dev
	$(PY) bench/scan_speed.py

# Glass-to-score latency of the live page (headless Chromium in a loopback-only network namespace).
bench-webrtc: install-dev
	$(PY) bench/webrtc_latency.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
