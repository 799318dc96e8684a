#!/usr/bin/env bats
# conffile.bats: the settings file the Debian package installs as
# /etc/chatkit-session.conf (etc/chatkit-session.conf.in) holds every
# setting cgi-bin/config.c reads, once, commented out, with the default
# the program uses (empty where it has none), and nothing else.

bats_require_minimum_version 1.5.0

load helpers/common
load helpers/settings

template=$TOP_SRCDIR/etc/chatkit-session.conf.in

# file_settings: "NAME VALUE" for each "#NAME=VALUE" line of the
# template, @CACHEDIR@ filled as the package's build fills it.
file_settings() {
	sed -n -E 's|^#([A-Z][A-Z0-9_]*)=(.*)$|\1 \2|p' "$template" |
		sed 's|@CACHEDIR@|/var/cache/chatkit-session|'
}

@test "every setting the program reads is in the file once, commented out, with the program's default" {
	local settings name def got n bad=''
	settings=$(program_settings)
	assert_that "$(wc -l <<<"$settings")" =~ '^[2-9][0-9]$' "settings read from config.c"
	while read -r name def; do
		# The file's own name is not a setting in it.
		[[ $name != CHATKIT_CONFIG ]] || continue
		n=$(file_settings | awk -v n="$name" '$1 == n' | wc -l)
		got=$(file_settings | awk -v n="$name" '$1 == n { sub(/^[^ ]+ ?/, ""); print }')
		if ((n != 1)); then
			bad+="$name: $n lines '#$name=' in the file"$'\n'
		elif [[ $def == unset && -n $got ]]; then
			bad+="$name: the program has no default; the file says '$got'"$'\n'
		elif [[ $def != unset && $got != "$def" ]]; then
			bad+="$name: the program's default is '$def'; the file says '$got'"$'\n'
		fi
	done <<<"$settings"
	[[ -z $bad ]] || die "$bad"
}

@test "the file sets nothing and names no setting the program does not read" {
	local known name bad=''
	run -1 grep -n -E '^[[:space:]]*[A-Z][A-Z0-9_]*[[:space:]]*=' "$template"
	known=" $(program_settings | cut -d' ' -f1 | tr '\n' ' ') "
	while read -r name _; do
		[[ $known == *" $name "* ]] || bad+="$name "
	done < <(file_settings)
	[[ -z $bad ]] || die "in the file, unknown to cgi-bin/config.c: $bad"
}
