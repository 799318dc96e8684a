# lint.bash: checks that read the project's files and run nothing of
# theirs (tests/deps.bats, tests/assertions.bats). Each prints one line a
# problem, "FILE:LINE: what is wrong", and fails when it printed one.
# Paths are relative to TOP, which the checks take as their first argument.

_lint_awk=$(dirname "${BASH_SOURCE[0]}")/commands.awk

# lint_shell_files: the shell and Bats files (of the current directory)
# the README's commands and .ci/run run, a symbolic link once.
lint_shell_files() {
	local f
	for f in scripts/* scripts/lib/*.bash .ci/run tests/fuzz/*.sh tests/deb/*.sh tests/deb/*.bash tests/helpers/*.bash tests/*.bats; do
		[[ -f $f && ! -L $f ]] || continue
		[[ $f == *.bash ]] || head -n 1 "$f" | grep -q -E '^#!.*(sh|bats)$' || continue
		printf '%s\n' "$f"
	done
}

# lint_records FILE...: commands.awk's records of FILE...
lint_records() {
	awk -f "$_lint_awk" "$@"
}

# --- the Debian packages ----------------------------------------------------

# Files that may use a package installed only with an install-deps
# option (--browser, ...): whatever runs them asks for that option.
declare -gA LINT_OPTION_FILES=(
	[--browser]="scripts/install-deps tests/scripts.bats tests/browser.bats tests/browser/*"
	[--portable]="scripts/portable tests/portable.bats"
	[--valgrind]="tests/helpers/cgi.bash"
	[--deb]="scripts/deb tests/deb.bats tests/deb/*"
)
# Names looked for that no Debian package has: another system's name
# for a program Debian calls otherwise.
LINT_NOT_DEBIAN="httpd"

# lint_deps TOP [DEPS-FILE [CONTROL]]: every package configure.ac asks
# for, every Bats library loaded, every command and Apache module the
# scripts and tests use, and the packages of CONTROL (default
# debian/control) the build and the tests need, come from a package of
# DEPS-FILE (default scripts/deps-debian.txt), installed with the
# install-deps option the file's runner asks for.
lint_deps() {
	local top=$1 deps=${2:-scripts/deps-debian.txt} control=${3:-debian/control}
	(
		cd "$top" || exit 1
		_lint_deps "$deps" "$control"
	)
}

# lint_control_relations CONTROL: "LINE FIELD NAME" for each package
# named in the source paragraph's Build-Depends (-Arch, -Indep) and the
# binary paragraphs' Depends, versions, architectures and profiles
# stripped, every alternative once; not ${substvars}.
lint_control_relations() {
	awk '
	function emit(text, item, n, k, name) {
		gsub(/\([^)]*\)|\[[^]]*\]|<[^>]*>/, "", text)
		n = split(text, item, /[,|]/)
		for (k = 1; k <= n; k++) {
			name = item[k]
			gsub(/[ \t]/, "", name)
			sub(/:[a-z]+$/, "", name)
			if (name != "" && name !~ /^\$\{/)
				print NR, field, name
		}
	}
	/^#/ { next }
	/^[ \t]*$/ { para++; field = ""; next }
	/^[^ \t]/ {
		field = ""
		f = $0
		sub(/:.*/, "", f)
		if ((para == 0 && f ~ /^Build-Depends(-Arch|-Indep)?$/) || (para > 0 && f == "Depends")) {
			field = f
			emit(substr($0, index($0, ":") + 1))
		}
		next
	}
	field != "" { emit($0) }
	' "$1"
}

_lint_deps() {
	local deps=$1 control=$2 bad=0 line name opt rest word where file lineno use pkg glob ok field
	local -A option=() provider=() known=() defined=()
	local -a files
	# The list: NAME [--OPTION] [# provides: NAME...]
	lineno=0
	while IFS= read -r line; do
		lineno=$((lineno + 1))
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		read -r name opt rest <<<"${line%%#*}"
		if [[ ! $name =~ ^[a-z0-9][a-z0-9.+-]+$ || -n $rest ||
			! ${opt:-none} =~ ^(none|--browser|--portable|--valgrind|--deb)$ ]]; then
			echo "$deps:$lineno: not NAME [--browser|--portable|--valgrind|--deb] [# provides: ...]: $line"
			bad=1
			continue
		fi
		option[$name]=$opt
		if [[ $line == *'# provides:'* ]]; then
			for word in ${line#*# provides:}; do
				provider[$word]=$name
			done
		fi
	done <"$deps"

	# configure.ac: CK_REQUIRE([VAR], [module], [package]) and "install
	# the Debian package NAME" messages.
	while IFS=: read -r lineno name; do
		if [[ ! -v option[$name] ]]; then
			echo "configure.ac:$lineno: $name is not in $deps"
			bad=1
		elif [[ -n ${option[$name]} ]]; then
			echo "configure.ac:$lineno: $name is installed only with install-deps ${option[$name]}"
			bad=1
		fi
	done < <(grep -n -o -E 'install the Debian package [a-z0-9.+-]+|^CK_REQUIRE\(\[[^]]*\], *\[[^]]*\], *\[[^]]*\]' configure.ac |
		sed -E 's/:.* ([a-z0-9.+-]+)$/:\1/; s/:CK_REQUIRE.*\[([^]]*)\]$/:\1/')

	mapfile -t files < <(lint_shell_files)
	# Known without a package: builtins, the functions of this shell (Bats,
	# its libraries, the helpers), those of tests/helpers/*.bash,
	# tests/deb/*.bash and scripts/lib/*.bash, and those a file defines
	# for itself.
	for word in $(compgen -b) $(compgen -k) $(declare -F | awk '{ print $3 }') $LINT_NOT_DEBIAN; do
		known[$word]=1
	done
	while read -r file name; do
		if [[ $file == tests/helpers/* || $file == scripts/lib/* || $file == tests/deb/*.bash ]]; then
			known[$name]=1
		else
			defined[$file:$name]=1
		fi
	done < <(lint_records "${files[@]}" | awk '$2 == "def" { sub(/:.*/, "", $1); print $1, $3 }')

	# What is used, "FILE:LINE NAME": commands, the interpreters of #!
	# lines, programs named by their path, Bats libraries, Apache modules.
	while read -r where use; do
		file=${where%%:*}
		case $use in
		/*) use=${use##*/} ;;
		\$*/*)
			# "$bindir/initdb": a listed program's, or one of ours
			use=${use##*/}
			[[ -v provider[$use] ]] || continue
			;;
		*/* | \$* | @* | -*) continue ;;
		esac
		[[ $use =~ ^[A-Za-z0-9_][A-Za-z0-9_.+-]*$ ]] || continue
		[[ -n ${known[$use]:-} || -n ${defined[$file:$use]:-} ]] && continue
		if [[ ! -v provider[$use] ]]; then
			echo "$where: $use: no package in $deps provides it"
			bad=1
			continue
		fi
		pkg=${provider[$use]}
		[[ -z ${option[$pkg]} ]] && continue
		ok=0
		for glob in ${LINT_OPTION_FILES[${option[$pkg]}]}; do
			# shellcheck disable=SC2053
			[[ $file == $glob ]] && ok=1
		done
		if ((!ok)); then
			echo "$where: $use: $pkg is installed only with install-deps ${option[$pkg]}"
			bad=1
		fi
	done < <(
		lint_records "${files[@]}" | awk '$2 == "cmd" { print $1, $3 }'
		for file in "${files[@]}" tests/helpers/*.py; do
			sed -n -E '1s/^#! *([^ ]*\/env +)?([^ ]+).*/\2/p' "$file" |
				sed "s|^|$file:1 |"
		done
		grep -n -o -E '(/usr)?/s?bin/[a-z][a-z0-9_.+-]*' "${files[@]}" tests/browser/*.mjs \
			apache/*.in lighttpd/*.in | sed -E 's/^([^:]+:[0-9]+):/\1 /'
		grep -n -o -E 'mod_[a-z0-9_]+\.so' "${files[@]}" apache/*.in |
			sed -E 's/^([^:]+:[0-9]+):/\1 /'
	)

	# debian/control: each build dependency (but debhelper-compat, which
	# debhelper brings) is a package of the list, or one that a package
	# of it provides (a virtual package: dh-apache2), installed by
	# install-deps or install-deps --deb. A package the program Depends
	# on by name (multiwatch) counts only where a file run on the host
	# runs it as a command: in the package test's root the package
	# brings its own Depends.
	local -A ran=()
	while read -r where use; do
		[[ $where == tests/deb/* || -v ran[$use] ]] || ran[$use]=$where
	done < <(lint_records "${files[@]}" | awk '$2 == "cmd" { print $1, $3 }')
	while read -r lineno field name; do
		[[ $name == debhelper-compat ]] && continue
		if [[ $field == Depends ]]; then
			[[ -v ran[$name] ]] || continue
			use=${ran[$name]}
		fi
		if [[ -v option[$name] ]]; then
			pkg=$name
		elif [[ -v provider[$name] && -v option[${provider[$name]}] ]]; then
			pkg=${provider[$name]}
		elif [[ $field == Depends ]]; then
			echo "$control:$lineno: Depends $name, which $use runs, is not in $deps"
			bad=1
			continue
		else
			echo "$control:$lineno: $field $name is not in $deps"
			bad=1
			continue
		fi
		if [[ $field != Depends && ${option[$pkg]:-} != '' && ${option[$pkg]} != --deb ]]; then
			echo "$control:$lineno: $field $name is installed only with install-deps ${option[$pkg]}"
			bad=1
		fi
	done < <(lint_control_relations "$control")

	# bats_load_library NAME: the Debian package NAME
	while IFS=: read -r file lineno name; do
		name=${name##* }
		if [[ ! -v option[$name] || -n ${option[$name]} ]]; then
			echo "$file:$lineno: the Bats library $name is not a package of $deps"
			bad=1
		fi
	done < <(grep -n -o -E 'bats_load_library [a-z0-9-]+' "${files[@]}")
	return "$bad"
}

# --- assertions -------------------------------------------------------------

# lint_assertions TOP: no assertion helper runs where set -e is off: on
# the left of && or ||, in a condition or after !. bats-assert's
# assert_* and refute_*, fail, and every function of tests/ that calls
# one of them (helpers/*.bash and the .bats files) are assertion
# helpers. Such a helper's later lines run even when an earlier one
# failed, and only its last status counts: `assert_error 400 x || die`
# passed with any status.
lint_assertions() {
	local top=$1
	(
		cd "$top" || exit 1
		local -a files
		mapfile -t files < <(find tests -maxdepth 1 -name '*.bats' -type f | sort)
		lint_records tests/helpers/*.bash "${files[@]}" |
			awk '
			$2 == "cmd" { n++; where[n] = $1; name[n] = $3; fn[n] = $4; how[n] = $5 }
			END {
				# the assertion helpers: a fixed point over "calls"
				do {
					more = 0
					for (k = 1; k <= n; k++)
						if (fn[k] != "-" && !(fn[k] in helper) &&
						    (name[k] ~ /^(assert|refute)_/ || name[k] == "fail" || name[k] in helper)) {
							helper[fn[k]] = 1
							more = 1
						}
				} while (more)
				for (k = 1; k <= n; k++)
					if (how[k] != "-" && (name[k] ~ /^(assert|refute)_/ || name[k] in helper)) {
						printf "%s: %s runs with set -e off (%s)\n", where[k], name[k], \
							how[k] == "left" ? "on the left of && or ||" : \
							how[k] == "cond" ? "in a condition" : "after !"
						bad = 1
					}
				exit bad
			}'
	)
}
