# settings.bash: the settings cgi-bin/config.c reads, with the defaults
# the program uses, for the tests that hold a text to them (man.bats:
# the manual page; conffile.bats: the Debian package's settings file).
# Reads config.c's source: its settings[] table and its #defines.
#
#   program_settings   "NAME DEFAULT" lines ("unset": no default)

config_c=$TOP_SRCDIR/cgi-bin/config.c

# c_define NAME: the text of config.c's "#define NAME ...", comment cut.
c_define() {
	sed -n -E "s|^#define $1[[:space:]]+||p" "$config_c" | sed -E 's|[[:space:]]*/\*.*||'
}

# c_value EXPR: a default as the Debian package builds it: string
# literals and numbers joined, the other macros of config.c expanded,
# and configure's directories those of dh_auto_configure (SYSCONFDIR
# /etc, which --with-configdir leaves at sysconfdir; LOCALSTATEDIR /var).
c_value() {
	local rest=$1 out='' def sub
	while [[ -n $rest ]]; do
		if [[ $rest =~ ^[[:space:]]+(.*)$ ]]; then
			rest=${BASH_REMATCH[1]}
		elif [[ $rest =~ ^([0-9]+)(.*)$ ]]; then
			out+=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
		elif [[ $rest =~ ^\"([^\"]*)\"(.*)$ ]]; then
			out+=${BASH_REMATCH[1]} rest=${BASH_REMATCH[2]}
		elif [[ $rest =~ ^([A-Z_][A-Z0-9_]*)(.*)$ ]]; then
			rest=${BASH_REMATCH[2]}
			case ${BASH_REMATCH[1]} in
			SYSCONFDIR) out+=/etc ;;
			LOCALSTATEDIR) out+=/var ;;
			*)
				def=$(c_define "${BASH_REMATCH[1]}")
				if [[ -z $def ]]; then
					echo "c_value: no #define ${BASH_REMATCH[1]} in config.c" >&2
					return 1
				fi
				sub=$(c_value "$def") || return
				out+=$sub
				;;
			esac
		else
			echo "c_value: cannot read '$rest'" >&2
			return 1
		fi
	done
	printf '%s\n' "$out"
}

# program_settings: "NAME DEFAULT" for each setting the program reads:
# the rows of config.c's settings[] table, and CHATKIT_CONFIG (its
# source_name). DEFAULT is "unset" for a row whose default is NULL, but
# for the threshold, whose default config_load computes from
# DEFAULT_THRESHOLD (or half a shorter TTL).
program_settings() {
	local row name def
	while IFS= read -r row; do
		if [[ ! $row =~ ^[[:space:]]*\{\"([A-Z0-9_]+)\",[[:space:]]*T_[A-Z]+,[[:space:]]*(NULL|\"[^\"]*\"|[A-Z_][A-Z0-9_]*), ]]; then
			echo "program_settings: a row of settings[] not understood: $row" >&2
			return 1
		fi
		name=${BASH_REMATCH[1]} def=${BASH_REMATCH[2]}
		if [[ $def == NULL && $name == CHATKIT_REFRESH_THRESHOLD ]]; then
			def=DEFAULT_THRESHOLD
		fi
		if [[ $def == NULL ]]; then
			def=unset
		else
			def=$(c_value "$def") || return
		fi
		printf '%s %s\n' "$name" "$def"
	done < <(sed -n '/^static const struct setting settings\[\] = {/,/^};/p' "$config_c" |
		grep -E '^[[:space:]]*\{')
	grep -q '"CHATKIT_CONFIG"' "$config_c" || {
		echo "program_settings: config.c names no CHATKIT_CONFIG" >&2
		return 1
	}
	printf 'CHATKIT_CONFIG %s\n' "$(c_value "$(c_define CONFIG_DEFAULT_FILE)")"
}
