# part4-infrastructure — the one entry point for readers and CI.
# `make` alone prints the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Native mode writes the endpoints it chose to .stack/env (KEY=value lines);
# every target sees them, so `make test` talks to the stack `make up` started.
STACK_ENV := .stack/env
ifneq ($(wildcard $(STACK_ENV)),)
include $(STACK_ENV)
export $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' $(STACK_ENV))
endif

# `make test-section 1`: the words after a section target are its N, and
# must not run as goals of their own.
SECTION_GOALS := test-section run-section bench-section
ifneq ($(filter $(SECTION_GOALS),$(firstword $(MAKECMDGOALS))),)
N ?= $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
$(eval $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS)):;@:)
endif

STACK := .stack/bin/stack
TOOLS_STAMP := .stack/bin/.tools

.PHONY: help up down clean doctor env test test-section test-unit run-section \
	bench-section lint generate verify-generated verify-readme verify-copyable tidy tools image

help: ## show the targets
	@echo "part4-infrastructure — companion code of Part 4 (infrastructure and integrations)"
	@echo
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'
	@echo
	@echo "  N is a section number 1..7, e.g. make test-section 1"

$(STACK): $(shell find stack testkit -name '*.go' -not -path 'stack/tools/*') stack/go.mod
	@mkdir -p .stack/bin
	go build -o $@ ./stack/cmd/stack

up: $(STACK) ## start the stack (Docker Compose, or native mode without Docker)
	@$(STACK) up

down: $(STACK) ## stop what make up started
	@$(STACK) down

clean: $(STACK) ## make down, then remove the stack's data and state (.stack)
	@$(STACK) clean

doctor: $(STACK) ## every endpoint: healthy or not, version, how to fix
	@$(STACK) doctor

env: ## print export lines of the endpoints, for eval "$(make -s env)"
	@if [[ -f $(STACK_ENV) ]]; then sed -n "s/^\([A-Z_][A-Z0-9_]*\)=\(.*\)$$/export \1='\2'/p" $(STACK_ENV); \
	else echo "# no $(STACK_ENV): the compose defaults apply (run make up)"; fi

# Tests run the pinned tools (buf, sqlc) from .stack/bin, never one found
# on PATH: every test target builds them first (seconds once cached).
test: $(TOOLS_STAMP) ## run every test against the stack (INFRA_REQUIRED=1, -race)
	@stack/scripts/test.sh

test-section: $(TOOLS_STAMP) ## run the tests of section N
	@stack/scripts/test.sh --section "$(N)"

test-unit: $(TOOLS_STAMP) ## tests that need no stack (go test -short)
	@stack/scripts/test.sh --unit

run-section: $(STACK) ## go run every example of section N in chapter order (RUN_TIMEOUT each, default 3m)
	@$(STACK) run-section "$(N)"

bench-section: $(TOOLS_STAMP) ## benchmarks of section N, -count=6, with benchstat
	@stack/scripts/bench-section.sh $(N)

$(TOOLS_STAMP): stack/tools/go.mod stack/tools/go.sum stack/tools/actionlint/go.mod stack/tools/actionlint/go.sum
	@echo "building pinned tools (stack/tools/go.mod) into .stack/bin"
	@stack/scripts/tools.sh
	@touch $@

tools: $(TOOLS_STAMP) ## build the pinned Go tools into .stack/bin

lint: $(TOOLS_STAMP) $(STACK) ## tracked files, shellcheck, actionlint, gofmt, go vet, golangci-lint, section linters
	@stack/scripts/lint.sh

generate: $(TOOLS_STAMP) ## regenerate sqlc and protobuf code
	@stack/scripts/generate.sh

verify-generated: $(TOOLS_STAMP) ## regenerate and fail if it differs from the commit
	@stack/scripts/generate.sh --verify

verify-readme: $(STACK) ## run every README's go run lines and compare with their output blocks
	@$(STACK) verify-readme

verify-copyable: $(TOOLS_STAMP) $(STACK) ## do each README's Copy it block into example.com/copy, then build and vet
	@$(STACK) verify-copyable

tidy: ## go mod tidy every module
	@stack/scripts/tidy.sh

image: ## OCI image of 07-containers/app without Docker: .stack/app-image.tar (docker load -i)
	@07-containers/image.sh "$(CURDIR)/.stack/app-image.tar"
