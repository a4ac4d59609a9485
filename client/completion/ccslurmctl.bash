# bash completion for ccslurmctl(1); installed as
# /usr/share/bash-completion/completions/ccslurmctl (loaded on demand).
# Node names are not completed: that would ask the daemon at every <Tab>.

_ccslurmctl()
{
	local cur prev words cword
	_init_completion || return

	local commands="status nodes resume suspend reload ping check metrics
		hostnames hostlist initialize generate create-nodes"
	local globals="-s --socket -c --config --json -h --help -V --version"

	case $prev in
	-s | --socket | -c | --config | --password-file | --slurm-conf | \
	--ca-file)
		_filedir
		return
		;;
	--output-dir)
		_filedir -d
		return
		;;
	--policy)
		COMPREPLY=($(compgen -W "error allow-existing" -- "$cur"))
		return
		;;
	--url | --cluster | --username)
		return
		;;
	esac

	# The command is the first word that is neither an option nor the
	# argument of -s/-c (--socket/--config).
	local i cmd=""
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | -c | --socket | --config)
			((i++))
			;;
		-*) ;;
		*)
			cmd=${words[i]}
			break
			;;
		esac
	done

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$globals" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		fi
		return
	fi

	local opts=""
	case $cmd in
	status | nodes) opts="--json" ;;
	resume | suspend) opts="--wait" ;;
	check) opts="--slurm-conf --no-daemon --json" ;;
	initialize)
		opts="--url --cluster --username --password-file --ca-file
			--no-verify-tls --force"
		;;
	generate) opts="--output-dir --dry-run --json" ;;
	create-nodes) opts="--policy --dry-run --json" ;;
	esac
	if [[ $cur == -* && -n $opts ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	fi
} &&
	complete -F _ccslurmctl ccslurmctl
