#!/bin/sh
# Development image: run the command as the owner of the bind-mounted checkout (/app), so that
# what the container writes there (migrations, coverage reports, new modules) belongs to the
# host user. `docker compose exec` runs as that user too: it names the user `app`.
set -eu
exec sudo --preserve-env /usr/local/bin/as-checkout-owner.sh "$@"
