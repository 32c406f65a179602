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
# Words after which a dot-less, hyphen-less name is a machine's (`host dc01`, `device WKS7`,
# `isolate dc01`, `DeviceName: dc01`). Few on purpose: every word here is looked for at the start
# of every word of every message (about 1 % of the extractor's time for these five).
HOST_WORDS = _words("host hostname device devicename isolate")
# Words after which such a name may be a machine's, if it looks like one (`on DC01`), see
# `names.context_name`; "on" is so common in prose that it asks for more.
WEAK_HOST_WORDS = _words("on")
# Letter prefixes of names that are not machines although they follow a host word (`on Win10`,
# `on SHA256`, `on T1059`, `on INC0012345`, `on day10`).
NOT_HOST_PREFIXES = NOT_MACHINE_PREFIXES | _words(
    "win ie edge chrome firefox os ios macos osx android x arm amd intel http https ipv ip "
    "port vlan tcp udp ec s q p t h v rc sp ver build day days week month year page line step "
    "level tier floor room row item slide round phase sprint shift track channel wave batch "
    "stage cohort group team mp js py ps dotnet net java php go lua perl ruby node npm mongo "
    "redis mysql postgres postgresql db ad aad entra ldap rdp smb dns ntp sftp ftp area zone"
)
# First labels of two-label names that are code, not domains (`os.name`, `req.host`) …
CODE_RECEIVERS = _words("self this cls os sys obj ctx req res args kwargs window console")
# … nor files (`self.app`, `this.zip`).
CODE_SELF = _words("self this cls")
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
# `after`: a dot and then closers (`example.]com`, `10.)10`; not `(see x.)Next`): the closers go,
#   the dot stays (not marked as refanged).
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
# around a dot (Markdown escapes them); `https:\/\/evil.com`: escaped slashes (JSON).
ESCAPED_DOT = re.compile(r"\\(?<=[A-Za-z0-9]\\)[.\ue000](?=[A-Za-z0-9])")
ESCAPED_BRACKET = re.compile(r"\\(?<!\\\\)(?:([\[({])(?=\.)|(?<=\.\\)([\])}])|(/))")
# `hxxp`, `hXXp`, `htxp`, `hxtp`, `h**p`, `h__p`, `fxp` (and with `s`) before a colon; any of
# them, or `http` itself, before `__` or `:\\` (`http__evil.com`, `hxxp:\\evil.com`).
HXXP = re.compile(
    r"[hHfF](?<![A-Za-z0-9_/].)"
    r"(?:(?<=[hH])(?:[xX][xX]|[tT][xX]|[xX][tT]|\*\*|_{2,3}+|[tT][tT](?=[pP][sS]?(?:__|:\\\\)))"
    r"|(?<=[fF])[xX])"
    r"[pP]([sS]?)(?:(__(?=[A-Za-z0-9\[])|:\\\\)|(?=[\[({]?:))"
)
# `evil [.] com`, `evil  [ . ]  com`: the spaces between a refanged dot and a name character.
MARK_SPACES = re.compile("(?<=[A-Za-z0-9])[ \t]++(?=\ue000)|(?<=\ue000)[ \t]++(?=[A-Za-z0-9])")
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
_HOST_SEP = r"(?:[ \t]++|[ \t]*+[:=][ \t]*+)[`*_\"']?+"  # `host dc01`, `hostname: "dc01"`
_HOST_WORDS = sorted(HOST_WORDS | WEAK_HOST_WORDS, key=len, reverse=True)
# Their first and second letters, matched first so that most words are turned down in C; then
# the rest of each word after its first two letters: `(?<=ho)st(?:name)?`.
_HOST_FIRSTS = "".join(sorted({c for w in _HOST_WORDS for c in w[0] + w[0].upper()}))
_HOST_SECONDS = "".join(sorted({c for w in _HOST_WORDS for c in w[1] + w[1].upper()}))
_HOST_TAILS = "|".join(f"(?<={w[:2]}){w[2:]}" for w in _HOST_WORDS)
# A token: a run of name characters with a dot or hyphen inside it, 32 to 64 hex digits, or an
# IPv6-shaped run (a `::` within 40 characters, or eight groups); a word that says the next one is
# a machine's (`host`, `on`: the `ctx` group); in `TOKEN_UNC` also the host of a UNC path
# (`\\host\share`), which costs every word a look and so is only looked for in texts that hold
# two backslashes in a row.
# Plain words, most of a chat, never leave C. Dotted quads and bare hex runs come out already
# classified (the `v4`, `hex` groups), so most log lines cost no Python per token.
# The characters of an IPv6 address, not running on into a name.
_V6_RUN = rf"[0-9A-Fa-f:.]{{2,45}}+(?![{_W}:\ue000])"
_TOKENS = (
    rf"(?=[{_W}]*+[.:\-\ue000]|[0-9A-Fa-f]{{32}})(?:"
    r"(?P<v6>(?<!:)(?=[0-9A-Fa-f]{0,4}:)(?=[0-9A-Fa-f:.]{0,40}?::|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f])"
    rf"{_V6_RUN})"
    rf"|(?P<v4>[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}})(?![{_W}\-\ue000]|\.[{_W}\ue000])"
    rf"|(?P<hex>[0-9A-Fa-f]{{32,64}})(?![{_W}\-\ue000]|\.[{_W}\ue000])"
    # anything else with a dot or hyphen inside; not a digit-led run without a dot (dates, phones)
    rf"|(?=[{_W}]*+[.\-\ue000]++[{_W}\ue000])(?![0-9][{_W}\-]*+(?![{_W}.\-\ue000]))"
    rf"[{_W}.\-\ue000]++)"
    # a host word, only where a name with letters and digits follows it
    rf"|[{_HOST_FIRSTS}][{_HOST_SECONDS}](?=[A-Za-z]*+{_HOST_SEP}[A-Za-z]++[0-9])"
    rf"(?i:{_HOST_TAILS})(?=[ \t:=])"
    r"(?P<ctx>)"
)
TOKEN = re.compile(rf"(?<![{_W}.\-\ue000])(?:{_TOKENS})")
TOKEN_UNC = re.compile(
    rf"(?<![{_W}.\-\ue000])(?:(?P<unc>(?<=\\\\)(?<!\\\\\\)[{_W}.\-\ue000]++)|{_TOKENS})"
)
# The name after a host word: letters and digits only, standing on its own (`DC01`, `dc01.`).
CONTEXT_NAME = re.compile(
    rf"{_HOST_SEP}([A-Za-z][A-Za-z0-9]{{1,14}}+)"
    rf"(?![{_W}\-@\ue000]|\.[{_W}\ue000])"
)
# An IPv6 address that starts right after a dot (`see...2001:db8::1`): matched where it starts.
IPV6_AT = re.compile(_V6_RUN)
# The start of a cloud resource identifier: an AWS ARN, an Azure resource id, a Google Cloud
# resource name. The names inside them are resources, not machines to look up.
CLOUD_ID = re.compile(
    r"(?i:arn:aws[a-z\-]*+:|/?subscriptions/[0-9a-f\-]{36}/|(?<![A-Za-z0-9])projects/)"
)
HEX_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,64}(?![0-9A-Za-z])")
HEX = re.compile(r"[0-9a-f]++")
MAC = re.compile(r"[0-9a-f]{2}(?:-[0-9a-f]{2})++")
LETTERS = re.compile(r"[a-z]++")
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?")
# Labels cannot hold dots, so this is unambiguous: at most 63 characters of backtracking a label.
FQDN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
)
IPV4_RE = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")
ALNUM = re.compile(r"[^\W_]")
DIGIT = re.compile(r"[0-9]")
NON_ASCII = re.compile(r"[^\x00-\x7f]")
SPACE = re.compile(r"\s")
NOT_IN_NAMES = re.compile(r'[\x00-\x1f/\\:<>"|?*]')
WORDS = re.compile(r"[A-Za-z0-9]++")
AUTHORITY_END = re.compile(r"[/?#]")
CLOSERS = {")": "(", "]": "[", "}": "{"}
OPENERS = frozenset("([{")
URL_TRAILING = frozenset(".,;:!?*_~" + MARK)
EDGE = ".-_" + MARK
