"""The words and patterns the extractor reads chat with.

Every scanning pattern starts with a character class (so `re` skips ahead in C) and rejects a
start inside a run with a lookbehind right after it, and uses possessive quantifiers: one attempt
per run, never one per character, and no catastrophic backtracking."""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Suffixes that never resolve publicly: names under them are internal machines (`hostname`).
NONPUBLIC_TLDS = _words("local internal lan localdomain corp home intranet private onion")
SPECIAL_PUBLIC = _words("onion")  # not in the root zone, but an indicator all the same
# Extensions of files an analyst searches for: executables, scripts, archives, documents,
# installers; also ransom notes (`txt`), dumps, property lists, and video lures.
FILE_EXTS = _words(
    """
    exe dll sys scr cpl ocx drv efi msi msp msix msixbundle appx appxbundle mst ps1 psm1 psd1 bat
    cmd vbs vbe js jse wsf wsh wsc hta sct lnk pif inf reg jar class war ear py pyc pyw pl rb sh
    bash zsh ksh php phtml asp aspx ashx asmx jsp jspx cgi elf so dylib ko bin dmg pkg mpkg app
    deb rpm apk ipa appimage crx xpi vsix whl iso img vhd vhdx vmdk ova zip rar 7z tar gz tgz bz2
    tbz2 xz txz zst cab arj ace lzh lha uue iqy slk doc docx docm dot dotx dotm xls xlsx xlsm xlsb
    xlt xltx xltm xll xlam ppt pptx pptm pps ppsx ppsm pot potm ppam one onepkg pdf rtf odt ods odp
    html htm xhtml mht mhtml svg chm hlp eml msg pub txt dmp plist mov mp4
    """
)
# File-type words that are also TLDs but whose two-label names are still files, not domains.
NOT_DOMAIN_EXTS = _words("md rs")
# Words just before a name that is both a file and a domain (`github-releases.zip`) and say which.
DOMAIN_WORDS = _words(
    "domain domains fqdn dns host hostname site website resolves resolved resolve resolving "
    "nslookup dig ping c2 cname"
)
# Products whose names look like script files.
NOT_FILES = _words(
    "node.js next.js nuxt.js vue.js react.js angular.js express.js ember.js three.js d3.js "
    "chart.js moment.js"
)
# Words before a dotted quad that make it a version, not an address.
VERSION_WORDS = _words(
    "version versions ver v build builds release rel firmware fw rev revision patch kernel "
    "engine platform agent sigs signatures"
)
# First segments of hyphenated look-alikes of machine names.
NOT_MACHINE_PREFIXES = _words(
    "sha md utf iso cve cwe capec ghsa rfc aes rsa dsa ecdsa hmac tls ssl ssh ipv kb ms pr cr chg "
    "inc req ritm sec covid ta windows rhel centos ubuntu debian python node gpt ja"
)
# First segments that make a hyphenated name a machine's even when short (`SRV-01`, `dc-01`).
MACHINE_PREFIXES = _words("desktop laptop ws wks pc srv svr server dc fs sql mac vm host ip")
REGION_PREFIXES = _words("us eu ap sa ca me af cn il mx uk in jp kr")  # `us-east-1`
DIRECTIONS = _words("east west north south central northeast northwest southeast southwest")
# A refanged dot. Private-use code point; any in the input is replaced before refanging.
MARK = "\ue000"
# Schemes a browser or proxy logs: their URLs are reported as URLs.
WEB_SCHEMES = _words("http https ftp ftps ws wss")
# Schemes of other protocols: the URL is reported, and its host too, since for such connections
# the host (not the URL) is what Defender for Endpoint records.
HOST_SCHEMES = _words(
    "tcp udp ssh sftp scp smb cifs rdp vnc telnet ldap ldaps irc ircs git svn rtsp rtmp mms nntp "
    "smtp smtps imap imaps pop3 pop3s socks socks4 socks5 redis mysql postgres postgresql "
    "mongodb mssql nfs"
)
SCHEMES = WEB_SCHEMES | HOST_SCHEMES
SCHEME_LENGTHS = tuple(sorted({len(s) for s in SCHEMES}, reverse=True))
SLACK = re.compile(r"<([^<>|\n]*+)(?:\|([^<>\n]*+))?>")
SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*+:")
# Each scanning pattern starts with a character class (so `re` skips ahead in C) and rejects a
# start inside a run with a lookbehind right after it: one attempt per run, never one per character.
# Bracketed defangs, each alternative ending in an empty group that names it:
# `full`: `[.]`, `[ . ]`, `(dot)`, `{.}`, `[:]`, `[://]`, `[/]`, `[@]`, `[at]`, `[-]`, `[,]`;
#   brackets may be doubled or mixed (`[.)`, `((.))`);
# `empty`: `example[]com`;
# `half`: an opener and a dot, no closer (`example[.com`, `1[.1`, `www[.[example`);
# `odd`: a closer, a dot and more brackets (`www].[example`, `foo}.{com`);
# `after`: a dot and then closers (`example.]com`, `10.)10`; not `(see x.)Next`): the closers are
#   replaced, the dot before them is folded into the mark afterwards.
# Not `].` or `.[` alone (`a[0].b`, `see.[1]`). All but `full` only between name characters.
DEFANG_BRACKETS = re.compile(
    r"[\[\](){}](?:"  # one character class first, so that `re` skips to brackets in C
    r"(?<=\[)\](?<=[A-Za-z0-9]\[\])(?=[A-Za-z0-9])(?P<empty>)"
    r"|(?<=[\[({])(?<![\[({].)[\[({]*+ *+"
    r"(?:(?P<inner>\.|,|-|[dD][oO][tT]|://|:/|:|//|/|@|[aA][tT]) *+)?+[\])}]++(?P<full>)"
    r"|(?<=[A-Za-z0-9][\[({])[\[({]*+\.[\[({]*+(?=[A-Za-z0-9])(?P<half>)"
    r"|(?<=[A-Za-z0-9][\])}])[\])}]*+\.[\[\](){}]++(?=[A-Za-z0-9])(?P<odd>)"
    r"|(?<=[A-Za-z0-9]\.[\])}])[\])}]*+(?=[a-z0-9])(?P<after>))"
)
# `evil\.com`: a regex-escaped dot between name characters; `evil\(.\)com`: escaped brackets
# around a dot (Markdown escapes them).
ESCAPED_DOT = re.compile(r"\\(?<=[A-Za-z0-9]\\)[.\ue000](?=[A-Za-z0-9])")
ESCAPED_BRACKET = re.compile(r"\\(?<!\\\\)(?:([\[({])(?=\.)|(?<=\.\\)([\])}]))")
# `hxxp`, `hXXp`, `htxp`, `hxtp`, `h**p`, `h__p`, `fxp` (and with `s`) before a colon; any of
# them, or `http` itself, before `__` or `:\\` (`http__evil.com`, `hxxp:\\evil.com`).
HXXP = re.compile(
    r"[hHfF](?<![A-Za-z0-9_].)"
    r"(?:(?<=[hH])(?:[xX][xX]|[tT][xX]|[xX][tT]|\*\*|_{2,3}+|[tT][tT](?=[pP][sS]?(?:__|:\\\\)))"
    r"|(?<=[fF])[xX])"
    r"[pP]([sS]?)(?:(__(?=[A-Za-z0-9\[])|:\\\\)|(?=[\[({]?:))"
)
MARK_SPACES = re.compile("[ \t]++\ue000[ \t]*+|\ue000[ \t]++")  # `evil [.] com`, `evil  [ . ]  com`
# Names and addresses spelled with spaced dots: `evil . com`, `evil (.) com`, `10 (dot) 0 ...`,
# `evil \. com`. Joined only when the result is a real name (`fang.refang_marked`).
_SPACED_SEP = r"(?: \. | ?[({] ?+(?:\.|[dD][oO][tT]) ?+[)}] ?| \\\. )"
SPACED = re.compile(
    rf"(?<![A-Za-z0-9\-.])[A-Za-z0-9\-][A-Za-z0-9\-.]*+(?:{_SPACED_SEP}[A-Za-z0-9\-][A-Za-z0-9\-.]*+)++"
)
SPACED_SPLIT = re.compile(_SPACED_SEP)
# Starts at the literal `://` (found by a fast substring search), scheme checked behind it. A URL
# ends at white space, quotes, angle brackets, and at the punctuation of other scripts: general
# punctuation (dashes, curly quotes, ellipsis), CJK punctuation (the ideographic full stop, corner
# brackets), full-width forms (parentheses, angle brackets), guillemets.
URL_RUN = re.compile(
    r"://(?i:"
    + "|".join(rf"(?<=(?<![A-Za-z0-9]){s}://)" for s in sorted(SCHEMES, key=len))
    + r")(?: (?=[A-Za-z0-9\[]))?+"  # one space after `://` is a defang too: `http:// evil.com`
    r"[^\s<>\"'`|\\^{}\u00ab\u00bb\u2000-\u206f\u2e00-\u2e7f\u3000-\u303f\ufe30-\ufe6f"
    r"\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\ufeff]++"
)
# Word characters, spelled out: `\w` costs a Unicode lookup per character, a range does not.
# Letters and digits of the scripts in the BMP; not the symbol and punctuation blocks (dashes,
# quotes, arrows, box drawing, guillemets, the times sign, NBSP), which end a name as ASCII
# punctuation does.
_W = (
    r"0-9A-Za-z_\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u1fff\u2c00-\u2dff\u2e80-\u2fdf"
    r"\u3040-\ud7ff\uf900-\ufdff\ufe70-\ufefe\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uffdc"
)
# A token: a run of name characters with a dot or hyphen inside it, 32 to 64 hex digits, or an
# IPv6-shaped run (a `::` within 40 characters, or eight groups); in `TOKEN_UNC` also the host of
# a UNC path (`\\host\share`), which costs every word a look and so is only looked for in texts
# that hold two backslashes in a row.
# Plain words, most of a chat, never leave C. Dotted quads and bare hex runs come out already
# classified (the `v4`, `hex` groups), so most log lines cost no Python per token.
_TOKENS = (
    rf"(?=[{_W}]*+[.:\-\ue000]|[0-9A-Fa-f]{{32}})(?:"
    r"(?P<v6>(?<!:)(?=[0-9A-Fa-f]{0,4}:)(?=[0-9A-Fa-f:.]{0,40}?::|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f])"
    rf"[0-9A-Fa-f:.]{{2,45}}+(?![{_W}:\ue000]))"
    rf"|(?P<v4>[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}})(?![{_W}\-\ue000]|\.[{_W}\ue000])"
    rf"|(?P<hex>[0-9A-Fa-f]{{32,64}})(?![{_W}\-\ue000]|\.[{_W}\ue000])"
    # anything else with a dot or hyphen inside; not a digit-led run without a dot (dates, phones)
    rf"|(?=[{_W}]*+[.\-\ue000]++[{_W}\ue000])(?![0-9][{_W}\-]*+(?![{_W}.\-\ue000]))"
    rf"[{_W}.\-\ue000]++)"
)
TOKEN = re.compile(rf"(?<![{_W}.\-\ue000])(?:{_TOKENS})")
TOKEN_UNC = re.compile(
    rf"(?<![{_W}.\-\ue000])(?:(?P<unc>(?<=\\\\)(?<!\\\\\\)[{_W}.\-\ue000]++)|{_TOKENS})"
)
HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,64}(?![0-9A-Za-z])")
HEX = re.compile(r"[0-9a-f]++")
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
# Labels cannot hold dots, so this is unambiguous: at most 63 characters of backtracking a label.
FQDN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
)
IPV4_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
ALNUM = re.compile(r"[^\W_]")
DIGIT = re.compile(r"[0-9]")
SPACE = re.compile(r"\s")
NOT_IN_NAMES = re.compile(r'[\x00-\x1f/\\:<>"|?*]')
WORDS = re.compile(r"[A-Za-z0-9]++")
AUTHORITY_END = re.compile(r"[/?#]")
CLOSERS = {")": "(", "]": "[", "}": "{"}
OPENERS = frozenset("([{")
URL_TRAILING = frozenset(".,;:!?*_~" + MARK)
EDGE = ".-_" + MARK
