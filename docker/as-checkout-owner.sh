#!/bin/sh
# Run as root through sudo: give the user `app` the uid and gid of the owner of /app, then run
# the command as that user.
set -eu
uid=$(stat -c %u /app)
gid=$(stat -c %g /app)
sed -i "s/^app:[^:]*:[0-9]*:[0-9]*:/app:x:$uid:$gid:/" /etc/passwd
sed -i "s/^app:[^:]*:[0-9]*:/app:x:$gid:/" /etc/group
chown -R "$uid:$gid" /home/app
export HOME=/home/app USER=app LOGNAME=app PATH="/opt/venv/bin:$PATH"
exec setpriv --reuid "$uid" --regid "$gid" --clear-groups -- "$@"
