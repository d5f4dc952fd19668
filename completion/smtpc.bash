# bash completion for smtpc(1): the commands, their options (cli/args.c) and the values
# of the options that have a finite set of them. Installed as
# share/bash-completion/completions/smtpc; scripts/man-check.sh tests it.

# 0 when option $1 takes a value (the next argument, or after '=').
__smtpc_takes_value()
{
	case $1 in
	--server | --account | -f | --from | --to | --helo | --timeout | --timeout-final | --source-ip | --log | --starttls | --ca-file | --ca-dir | \
		--cert | --key | --tls-name | --fingerprint | --user | --password-file | \
		--password-env | --password-cmd | --oauth-token-cmd | --auth | --dsn-notify | \
		--dsn-ret | --envid | --8bit | --subject | --text | --html | --attach | --header)
		return 0
		;;
	esac
	return 1
}

# The account names of the configuration that smtpc reads (docs/CLI.md, "Accounts"):
# $SMTPC_CONFIG alone, else /etc/smtpc.conf and the user's file, smtpc's or else msmtp's.
__smtpc_accounts()
{
	local files=() base=$HOME/.config f
	if [[ -n ${SMTPC_CONFIG-} ]]; then
		files=("$SMTPC_CONFIG")
	else
		files=(/etc/smtpc.conf)
		[[ ${XDG_CONFIG_HOME-} == /* ]] && base=$XDG_CONFIG_HOME
		for f in "$base/smtpc/config" "$HOME/.msmtprc" "$base/msmtp/config"; do
			if [[ -f $f ]]; then
				files+=("$f")
				break
			fi
		done
	fi
	for f in "${files[@]}"; do
		[[ -r $f ]] || continue
		# "account NAME", "account NAME : PARENT", "account NAME:PARENT"
		awk '$1 == "account" { n = $2; sub(/:.*/, "", n); if (n != "") print n }' "$f" 2> /dev/null
	done
}

_smtpc()
{
	local cur prev words cword
	words=("${COMP_WORDS[@]}")
	cword=$COMP_CWORD
	cur=${words[cword]}
	prev=
	((cword > 0)) && prev=${words[cword - 1]}

	# --name=value: bash splits at '=' when it is in COMP_WORDBREAKS (the default).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((cword >= 2)); then
		prev=${words[cword - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
	fi

	local common='--server --account --helo --timeout --source-ip --debug --json --help --version
		--starttls --ca-file --ca-dir --cert --key --tls-name --fingerprint --insecure
		--user --password-file --password-env --password-cmd --oauth-token-cmd --auth
		--allow-plaintext-auth'
	local send_only='--log --syslog --from --to --read-recipients --dsn-notify --dsn-ret --envid --8bit --timeout-final
		--no-pipelining --no-chunking --progress --dkim-key --dkim-selector --dkim-domain
		--dkim-headers --dkim-algorithm --dkim-canon
		--subject --text --html --attach --header'

	# The value of an option.
	case $prev in
	--starttls)
		COMPREPLY=($(compgen -W 'required opportunistic never' -- "$cur"))
		return
		;;
	--auth)
		COMPREPLY=($(compgen -W 'PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 XOAUTH2
			OAUTHBEARER EXTERNAL' -- "$cur"))
		return
		;;
	--8bit)
		COMPREPLY=($(compgen -W 'send refuse' -- "$cur"))
		return
		;;
	--dsn-ret)
		COMPREPLY=($(compgen -W 'full hdrs' -- "$cur"))
		return
		;;
	--dkim-algorithm)
		COMPREPLY=($(compgen -W 'rsa-sha256 ed25519-sha256' -- "$cur"))
		return
		;;
	--dkim-canon)
		COMPREPLY=($(compgen -W 'relaxed/relaxed relaxed/simple simple/relaxed simple/simple' -- "$cur"))
		return
		;;
	--dsn-notify)
		# never, or a comma-separated list of success, failure, delay
		local head= last=$cur
		if [[ $cur == *,* ]]; then
			head=${cur%,*},
			last=${cur##*,}
			COMPREPLY=($(compgen -P "$head" -W 'success failure delay' -- "$last"))
		else
			COMPREPLY=($(compgen -W 'never success failure delay' -- "$cur"))
		fi
		return
		;;
	--account)
		COMPREPLY=($(compgen -W "$(__smtpc_accounts)" -- "$cur"))
		return
		;;
	--server)
		COMPREPLY=($(compgen -W 'smtp:// smtps:// lmtp:// lmtp:/' -- "$cur"))
		compopt -o nospace 2> /dev/null
		return
		;;
	--ca-file | --cert | --key | --password-file | --log | --dkim-key | --text | --html | --attach)
		compopt -o filenames 2> /dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	--ca-dir)
		compopt -o filenames 2> /dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return
		;;
	--password-env)
		COMPREPLY=($(compgen -v -- "$cur"))
		return
		;;
	--password-cmd | --oauth-token-cmd)
		COMPREPLY=($(compgen -c -- "$cur"))
		return
		;;
	--from | --to | --helo | --timeout | --timeout-final | --source-ip | --tls-name | --fingerprint | --user | --envid | -f)
		COMPREPLY=()
		return
		;;
	esac

	# The command: the first operand, skipping the values of options.
	local i w command= dashdash=
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -- ]]; then
			dashdash=1
			break
		fi
		if [[ $w == = ]]; then
			((i++))
			continue
		fi
		if __smtpc_takes_value "$w" && [[ ${words[i + 1]} != = ]]; then
			((i++))
			continue
		fi
		if [[ $w != -* ]]; then
			command=$w
			break
		fi
	done

	if [[ -z $command ]]; then
		if [[ $cur == -* && -z $dashdash ]]; then
			COMPREPLY=($(compgen -W "$common $send_only -f -t -h -V" -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'send probe' -- "$cur"))
		fi
		return
	fi

	case $command in
	send)
		if [[ $cur == -* && -z $dashdash ]]; then
			COMPREPLY=($(compgen -W "$common $send_only -f -t -h -V" -- "$cur"))
		else
			compopt -o filenames 2> /dev/null
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	probe)
		if [[ $cur == -* && -z $dashdash ]]; then
			COMPREPLY=($(compgen -W "$common -h -V" -- "$cur"))
		fi
		;;
	esac
}
complete -F _smtpc smtpc
