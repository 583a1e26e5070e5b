# Shared part of the `BuildMethod: makefile` Makefiles of template.yaml.
#
# `sam build` runs `make --makefile <absolute path of the Makefile> build-<LogicalId>` in a
# scratch copy of the resource's CodeUri, with ARTIFACTS_DIR set; the Makefiles include this file
# by their own location, not by the working directory.
#
# Lambda's code directories are read-only, so bytecode that is not in the artifact is compiled
# again on every cold start. It must come from the runtime's exact minor version (3.13), and
# unchecked-hash .pyc files stay valid whatever timestamps the zip file gives the sources.

LAMBDA_BUILD_SCRIPTS := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
PYTHON313 := $(shell "$(LAMBDA_BUILD_SCRIPTS)/find-python313")
# pip of the 3.13 interpreter if it has one; any pip can fetch wheels for another platform.
PIP ?= $(shell "$(PYTHON313)" -m pip --version >/dev/null 2>&1 && echo '"$(PYTHON313)" -m pip' || echo 'python3 -m pip')

define require_python313
	@if [ -z "$(PYTHON313)" ]; then \
		echo "error: Lambda bytecode must be compiled by CPython 3.13 and none was found;" >&2; \
		echo "       install python3.13 or set PYTHON313=/path/to/python3.13" >&2; \
		exit 1; \
	fi
	@if [ -z "$(ARTIFACTS_DIR)" ]; then echo "error: ARTIFACTS_DIR is not set (run sam build)" >&2; exit 1; fi
endef

COMPILE_BYTECODE = "$(PYTHON313)" -m compileall -q -j 0 --invalidation-mode unchecked-hash
