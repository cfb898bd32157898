#!/usr/bin/env bash
# lint.sh — make lint's hook for section 4.4, with the pinned buf from
# stack/tools: buf lint (STANDARD on proto/, MINIMAL on the vendored
# googleapis files), buf format on proto/ (the vendored files stay as
# upstream wrote them), and buf breaking against the released contract
# image and against the main branch, so a change that would break
# existing clients fails the lint.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PWD/../.stack/bin:$PATH"
echo "buf lint"
buf lint
echo "buf format"
buf format proto --diff --exit-code
echo "buf breaking (against 06-buf/testdata/inventory-v1.binpb)"
buf breaking proto --against 06-buf/testdata/inventory-v1.binpb
# The git history too: what main has is what deployed clients may use.
# A clone without a main branch (a detached CI checkout) uses its last commit.
ref=branch=main
git rev-parse --verify --quiet main >/dev/null || ref=ref=HEAD
echo "buf breaking (against git: $ref)"
buf breaking proto --against "../.git#$ref,subdir=04-grpc/proto"
