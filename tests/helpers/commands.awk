# commands.awk: the commands shell and Bats files run, and the functions
# they define. Usage: awk -f commands.awk FILE...
# Prints one line a record:
#   FILE:LINE cmd NAME FUNCTION WHERE
#   FILE:LINE def NAME
# FUNCTION is the function the command runs in ("-" outside one). WHERE
# is "-", or how a failure inside the command is ignored by set -e:
# "left" (on the left of && or ||, or in a group that is), "cond" (the
# condition of if, elif, while or until) or "not" (after !). Commands in
# $(...) are reported with "-": their status is another command's.
#
# tests/helpers/lint.bash reads them: no assertion helper may run where
# set -e is off (tests/assertions.bats), and each command must come from
# a package of scripts/deps-debian.txt (tests/deps.bats).
#
# A small lexer, not a shell: it follows quotes, $(...), `...`, ${...},
# (( )), [[ ]], arrays, case patterns, here-documents and comments, and
# reports the word in command position, also after the prefixes that run
# another command (run, exec, sudo, env, nice, setpriv, ...), and the
# NAME of `command -v NAME`. By convention a list of commands a script
# checks for is a `for tool in ...` loop or a `tools=` variable: their
# words are reported too. Not seen: commands put together at run time
# ("$wrap" "$@"), and the text of strings given to bash -c.

# --- contexts: shell code, quotes, ${...}, arithmetic -------------------

function push(t, closer) {
	sp++
	ctx[sp] = t
	cl[sp] = closer
	w[sp] = ""
	wl[sp] = 0
	st[sp] = "cmd"
	intest[sp] = 0
	inarr[sp] = 0
	csd[sp] = 0
	skipn[sp] = 0
	lookup[sp] = 0
	redir[sp] = 0
	forv[sp] = 0
	cur[sp] = ""
	if (t == "sh") {
		if (closer != "(")
			sd++
		sdof[sp] = sd
		open_level(closer == "(" ? "" : "subst")
	}
}

# pop: leave a context; a substitution stands for a dynamic part ("$")
# of the word around it, a quoted string for its literal text.
function pop(   t) {
	t = ctx[sp]
	if (t == "sh") {
		while (lv > 0 && lsp[lv] == sp)
			lv--
		if (cl[sp] != "(")
			sd--
	}
	sp--
	if (t == "sq" || t == "dq")
		return
	if (ctx[sp] == "sh")
		w[sp] = w[sp] "$"
	else if (ctx[sp] == "dq" && ctx[sp - 1] == "sh")
		w[sp - 1] = w[sp - 1] "$"
}

# --- levels: compound commands and the lists they are part of -----------

function open_level(kind) {
	lv++
	lsp[lv] = sp
	lkind[lv] = kind
	lstart[lv] = rn + 1	# first record of the current list item
	lcond[lv] = 0		# first record of an if/while condition
	lnot[lv] = 0		# first record after !
	lfn[lv] = pendfn != "" ? pendfn : (lv > 1 ? lfn[lv - 1] : "-")
	pendfn = ""
}

function close_level() {
	if (lv > 1 && lsp[lv] == sp && lkind[lv] != "subst")
		lv--
}

# mark FROM WHERE: records FROM.. of this level's substitution depth.
function mark(from, where,   k) {
	for (k = from; k <= rn; k++)
		if (rsd[k] == sd && rwhere[k] == "-")
			rwhere[k] = where
}

# A list item ends: with && or || ("left"), or any other separator.
function item_end(andor) {
	if (lnot[lv]) {
		mark(lnot[lv], "not")
		lnot[lv] = 0
	}
	if (andor)
		mark(lstart[lv], "left")
	lstart[lv] = rn + 1
}

function record(kind, name) {
	rn++
	rfile[rn] = FILENAME
	rline[rn] = wl[sp]
	rkind[rn] = kind
	rname[rn] = name
	rfn[rn] = lfn[lv]
	rsd[rn] = sd
	rwhere[rn] = "-"
}

# --- words ----------------------------------------------------------------

# Words that run the next command given to them (after their options).
function wrapper(x) {
	return x ~ /^(run|exec|command|builtin|sudo|\$sudo|env|nice|nohup|timeout|setpriv|setsid|unshare|chroot|xargs|stdbuf|time|run_as|spawn_as|pg_as_owner)$/
}

# Positional arguments a prefix takes before the command.
function positional(x) {
	return (x == "chroot" || x == "run_as" || x == "spawn_as" || x == "pg_as_owner") ? 1 : 0
}

function endword(   x, n, i, a) {
	x = w[sp]
	w[sp] = ""
	if (x == "")
		return
	if (redir[sp]) {
		redir[sp] = 0
		return
	}
	if (inarr[sp])
		return
	if (forv[sp] == 1) {
		# for NAME in WORDS: NAME
		forv[sp] = (x == "tool" || x == "tools") ? 3 : 2
		return
	}
	if (forv[sp] >= 2) {
		if (x == "do") {
			forv[sp] = 0
			st[sp] = "cmd"
			item_end(0)
		} else if (forv[sp] == 3 && x != "in" && x ~ /^[A-Za-z0-9][A-Za-z0-9._+-]*$/) {
			record("cmd", x)
		}
		return
	}
	if (csd[sp] > 0 && cs[sp, csd[sp]] == 1) {
		# case WORD in
		if (x == "in")
			cs[sp, csd[sp]] = 2
		return
	}
	if (csd[sp] > 0 && cs[sp, csd[sp]] == 2) {
		if (x == "esac") {
			csd[sp]--
			close_level()
			st[sp] = "args"
		}
		return
	}
	if (intest[sp]) {
		if (x == "]]")
			intest[sp] = 0
		return
	}
	if (st[sp] == "def") {
		record("def", x)
		pendfn = x
		st[sp] = "cmd"
		return
	}
	if (st[sp] == "args") {
		# @test "name" { opens the test's body
		if (x == "{" && cur[sp] == "@test")
			open_level("")
		return
	}
	if (st[sp] == "wrap") {
		if (x ~ /^-/ || x == "!" || x ~ /^[A-Za-z_][A-Za-z0-9_]*=/ || x ~ /^[0-9.]+[smhd]?$/) {
			if (x == "-v" || x == "-V")
				lookup[sp] = 1
			return
		}
		if (skipn[sp] > 0) {
			skipn[sp]--
			return
		}
		st[sp] = "cmd"
		# x is the command: on below
	}
	# command position
	if (x ~ /^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=/) {
		# an assignment; tools="a b c" lists commands
		if (x ~ /^tools\+?=/) {
			n = split(substr(x, index(x, "=") + 1), a, " ")
			for (i = 1; i <= n; i++)
				if (a[i] ~ /^[A-Za-z0-9][A-Za-z0-9._+-]*$/)
					record("cmd", a[i])
		}
		return
	}
	if (x == "{") {
		open_level("")
		return
	}
	if (x == "if" || x == "while" || x == "until") {
		open_level("")
		lcond[lv] = rn + 1
		return
	}
	if (x == "elif") {
		lcond[lv] = rn + 1
		return
	}
	if (x == "then" || x == "do") {
		if (lcond[lv])
			mark(lcond[lv], "cond")
		lcond[lv] = 0
		item_end(0)
		return
	}
	if (x == "else") {
		item_end(0)
		return
	}
	if (x == "}" || x == "fi" || x == "done" || x == "esac") {
		if (x == "esac" && csd[sp] > 0)
			csd[sp]--
		close_level()
		st[sp] = "args"
		return
	}
	if (x == "!") {
		lnot[lv] = rn + 1
		return
	}
	if (x == "[[") {
		intest[sp] = 1
		st[sp] = "args"
		return
	}
	if (x == "case") {
		csd[sp]++
		cs[sp, csd[sp]] = 1
		open_level("")
		return
	}
	if (x == "for" || x == "select") {
		forv[sp] = 1
		open_level("")
		return
	}
	if (x == "function") {
		st[sp] = "def"
		return
	}
	record("cmd", x)
	if (lookup[sp]) {
		lookup[sp] = 0
		st[sp] = "args"
		return
	}
	cur[sp] = x
	if (wrapper(x)) {
		st[sp] = "wrap"
		skipn[sp] = positional(x)
	} else {
		st[sp] = "args"
	}
}

# A new command starts: after a newline, ; & | && || and friends.
function sep(andor) {
	endword()
	if (inarr[sp])
		return
	if (forv[sp] >= 2) {
		st[sp] = "cmd"
		return
	}
	st[sp] = "cmd"
	lookup[sp] = 0
	if (andor != "|")
		item_end(andor == "&&" || andor == "||")
}

# --- files and lines ------------------------------------------------------

FNR == 1 {
	sp = 0
	sd = 0
	lv = 0
	pendfn = ""
	push("sh", "")
	hd = 0
	nhd = 0
}

{
	line = $0
	if (hd) {
		# inside a here-document: look for its delimiter
		x = line
		if (hdtab[hd])
			sub(/^\t+/, "", x)
		if (x == hdelim[hd]) {
			if (hd < nhd)
				hd++
			else {
				hd = 0
				nhd = 0
			}
		}
		next
	}
	len = length(line)
	for (i = 1; i <= len; i++) {
		c = substr(line, i, 1)
		n = substr(line, i + 1, 1)
		t = ctx[sp]
		if (t == "sq") {
			if (c == "'")
				pop()
			else if (ctx[sp - 1] == "sh")
				w[sp - 1] = w[sp - 1] c
			continue
		}
		if (t == "ar") {
			if (c == "(")
				adepth[sp]++
			else if (c == ")") {
				if (adepth[sp] > 0)
					adepth[sp]--
				else if (n == ")") {
					i++
					pop()
				}
			}
			continue
		}
		if (t == "dq" || t == "br") {
			if (c == "\\") {
				i++
				continue
			}
			if (t == "dq" && c == "\"") {
				pop()
				continue
			}
			if (t == "br" && c == "}") {
				pop()
				continue
			}
			if (t == "br" && c == "\"") {
				push("dq", "")
				continue
			}
			if (t == "br" && c == "'") {
				push("sq", "")
				continue
			}
			if (c == "$" && n == "(" && substr(line, i + 2, 1) == "(") {
				i += 2
				push("ar", "")
				adepth[sp] = 0
				continue
			}
			if (c == "$" && n == "(") {
				i++
				push("sh", ")")
				continue
			}
			if (c == "$" && n == "{") {
				i++
				push("br", "")
				continue
			}
			if (c == "`") {
				push("sh", "`")
				continue
			}
			# a literal part of the word the string belongs to
			if (t == "dq" && ctx[sp - 1] == "sh")
				w[sp - 1] = w[sp - 1] c
			continue
		}
		# shell code
		if (w[sp] == "" && c == "#")
			break
		if (intest[sp] && (c ~ /[()<>]/ || (c ~ /[|&]/ && n != c))) {
			# part of a [[ ]] operand (a regular expression)
			w[sp] = w[sp] c
			continue
		}
		if (c == "\\") {
			if (i == len)
				continue	# line continuation
			if (w[sp] == "")
				wl[sp] = FNR
			w[sp] = w[sp] n
			i++
			continue
		}
		if (c == "'" || c == "\"") {
			if (w[sp] == "")
				wl[sp] = FNR
			push(c == "'" ? "sq" : "dq", "")
			continue
		}
		if (c == "`") {
			if (cl[sp] == "`") {
				endword()
				pop()
				continue
			}
			if (w[sp] == "")
				wl[sp] = FNR
			push("sh", "`")
			continue
		}
		if (c == "$") {
			if (w[sp] == "")
				wl[sp] = FNR
			if (n == "(" && substr(line, i + 2, 1) == "(") {
				i += 2
				push("ar", "")
				adepth[sp] = 0
			} else if (n == "(") {
				i++
				push("sh", ")")
			} else if (n == "{") {
				i++
				push("br", "")
			} else {
				w[sp] = w[sp] "$"
			}
			continue
		}
		if (c == " " || c == "\t") {
			endword()
			continue
		}
		if (c == ";") {
			if (n == ";" || n == "&") {
				# the end of a case branch
				endword()
				i++
				if (substr(line, i + 1, 1) == "&")
					i++
				if (csd[sp] > 0)
					cs[sp, csd[sp]] = 2
				item_end(0)
				continue
			}
			sep(";")
			continue
		}
		if (c == "&" || c == "|") {
			if (c == "|" && csd[sp] > 0 && cs[sp, csd[sp]] == 2) {
				endword()	# a|b) in a case pattern
				continue
			}
			if (c == "&" && n == ">") {
				endword()
				i++
				if (substr(line, i + 1, 1) == ">")
					i++
				redir[sp] = 1
				continue
			}
			if (n == c) {
				i++
				sep(c c)
			} else if (c == "|") {
				if (n == "&")
					i++
				sep("|")
			} else {
				sep("&")
			}
			continue
		}
		if (c == "(") {
			if (w[sp] ~ /=$/) {
				# NAME=( or NAME+=( an array
				w[sp] = ""
				inarr[sp] = 1
				continue
			}
			if (w[sp] != "" && n == ")") {
				# NAME() defines a function
				x = w[sp]
				w[sp] = ""
				record("def", x)
				pendfn = x
				i++
				st[sp] = "cmd"
				continue
			}
			if (csd[sp] > 0 && cs[sp, csd[sp]] == 2)
				continue	# (pattern) in a case
			endword()
			if (forv[sp] == 1) {
				# for ((...)): arithmetic, no list
				forv[sp] = 0
				st[sp] = "args"
			}
			if (n == "(") {
				i++
				push("ar", "")
				adepth[sp] = 0
				continue
			}
			push("sh", "(")	# a subshell
			continue
		}
		if (c == ")") {
			if (inarr[sp]) {
				endword()
				inarr[sp] = 0
				continue
			}
			endword()
			if (csd[sp] > 0 && cs[sp, csd[sp]] == 2) {
				cs[sp, csd[sp]] = 3
				st[sp] = "cmd"
				item_end(0)
				continue
			}
			if ((cl[sp] == ")" || cl[sp] == "(") && sp > 1) {
				x = cl[sp]
				pop()
				if (x == "(") {
					# the subshell was a command of this list
					w[sp] = ""
					st[sp] = "args"
				}
			}
			continue
		}
		if (c == "<" || c == ">") {
			if (w[sp] ~ /^[0-9]+$/)
				w[sp] = ""	# a file descriptor: 2>&1
			endword()
			if (c == "<" && n == "<" && substr(line, i + 2, 1) != "<") {
				# a here-document: its delimiter follows
				i += 2
				tab = 0
				if (substr(line, i, 1) == "-") {
					tab = 1
					i++
				}
				while (substr(line, i, 1) == " ")
					i++
				d = ""
				while (i <= len && substr(line, i, 1) !~ /[ \t;&|<>)]/) {
					d = d substr(line, i, 1)
					i++
				}
				i--
				gsub(/["'\\]/, "", d)
				nhd++
				hdelim[nhd] = d
				hdtab[nhd] = tab
				continue
			}
			if (n == "(") {
				# process substitution
				i++
				push("sh", ")")
				continue
			}
			while (substr(line, i + 1, 1) ~ /[<>&|]/)
				i++
			redir[sp] = 1
			continue
		}
		if (w[sp] == "")
			wl[sp] = FNR
		w[sp] = w[sp] c
	}
	# the end of the line, unless a backslash continues it
	if (ctx[sp] == "sh" && !(len > 0 && substr(line, len, 1) == "\\")) {
		if (intest[sp])
			endword()
		else
			sep("\n")
	}
	if (nhd > 0)
		hd = 1
}

END {
	for (k = 1; k <= rn; k++) {
		if (rkind[k] == "def")
			print rfile[k] ":" rline[k] " def " rname[k]
		else
			print rfile[k] ":" rline[k] " cmd " rname[k] " " rfn[k] " " rwhere[k]
	}
}
