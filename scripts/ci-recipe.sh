#!/usr/bin/env sh
# The CI recipe of docs/ci.md in its generic shell form: run it from any CI system.
#
#   scripts/ci-recipe.sh pr      on a pull request: validate, then plan against the target
#                                (a read-only token is enough: plan only reads)
#   scripts/ci-recipe.sh merge   on merge to the release branch: apply and wait, as a service
#                                principal (OAuth M2M from CI secrets, or workload identity
#                                federation with DATABRICKS_OIDC_TOKEN_FILEPATH)
#
# Environment:
#   AGENTRELEASE            the agentrelease binary (default: agentrelease on PATH)
#   MANIFESTS               the manifest folder (default: config/samples)
#   DATABRICKS_HOST         the workspace; must be the ReleaseTargets' spec.host
#   DATABRICKS_TOKEN        pr: a (read-only) token for plan
#   DATABRICKS_CLIENT_ID    merge: the service principal's application id
#   DATABRICKS_CLIENT_SECRET  merge: its OAuth secret (unset with workload identity federation)
#   DATABRICKS_OIDC_TOKEN_FILEPATH  merge: the CI job's OIDC token file, for federation
#   AGENTRELEASE_FLAGS      extra flags for plan and apply (both take them: e.g. --override-host)
#   RESULT_FILE             merge: where apply's JSON result goes (default: agentrelease-result.json)
#
# Exit codes are agentrelease's: 0 Ready (or clean), 2 a gate blocks, 1 errors (validate: 1 on
# any problem).
set -eu

AGENTRELEASE="${AGENTRELEASE:-agentrelease}"
MANIFESTS="${MANIFESTS:-config/samples}"
RESULT_FILE="${RESULT_FILE:-agentrelease-result.json}"
: "${DATABRICKS_HOST:?set DATABRICKS_HOST to the target workspace}"
# shellcheck disable=SC2086 # AGENTRELEASE_FLAGS is a list of flags
set -- "$1" ${AGENTRELEASE_FLAGS:-}
stage="$1"
shift

case "$stage" in
pr)
	"$AGENTRELEASE" validate -f "$MANIFESTS"
	"$AGENTRELEASE" plan -f "$MANIFESTS" --host "$DATABRICKS_HOST" "$@"
	;;
merge)
	if [ -n "${DATABRICKS_CLIENT_SECRET:-}" ]; then
		set -- --client-id-env DATABRICKS_CLIENT_ID --client-secret-env DATABRICKS_CLIENT_SECRET "$@"
	elif [ -n "${DATABRICKS_OIDC_TOKEN_FILEPATH:-}" ]; then
		set -- --client-id-env DATABRICKS_CLIENT_ID --oidc-token-file "$DATABRICKS_OIDC_TOKEN_FILEPATH" "$@"
	fi
	"$AGENTRELEASE" validate -f "$MANIFESTS"
	status=0
	"$AGENTRELEASE" apply -f "$MANIFESTS" --host "$DATABRICKS_HOST" --wait -o json "$@" >"$RESULT_FILE" || status=$?
	case "$status" in
	0) echo "released: every release is Ready (details in $RESULT_FILE)" ;;
	2) echo "blocked: a gate stopped a release; nothing after it ran (details in $RESULT_FILE)" >&2 ;;
	*) echo "failed (exit $status; details in $RESULT_FILE)" >&2 ;;
	esac
	exit "$status"
	;;
*)
	echo "usage: $0 pr|merge" >&2
	exit 64
	;;
esac
