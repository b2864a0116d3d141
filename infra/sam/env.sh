# Source me: `source infra/sam/env.sh` (bash/zsh). Puts the project's SAM CLI on PATH and sets the
# environment under which sam validate/lint/build never talk to AWS.
#   SAM_CLI_TELEMETRY=0          no telemetry POSTs (to *.amazonaws.com)
#   AWS_DEFAULT_REGION/AWS_REGION  `sam validate` (without --lint) aborts with "AWS Region was not found"
#                                otherwise; it never calls AWS. `--lint` and `build` need no region.
#   AWS_ACCESS_KEY_ID/SECRET=test  not needed by validate/lint/build; set so any stray boto3 call
#                                can never use real credentials (and works against LocalStack)
#   __SAM_CLI_APP_DIR            SAM's config dir (metadata.json) under .local/ instead of ~/.aws-sam;
#                                install.sh seeds it so the weekly version check to PyPI is skipped
_seia_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/../.." && pwd)"
export PATH="$_seia_root/.local/venvs/sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export __SAM_CLI_APP_DIR="$_seia_root/.local/sam/config"
unset _seia_root
