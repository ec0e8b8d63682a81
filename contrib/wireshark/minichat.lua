-- minichat.lua: a Wireshark dissector for the minichat protocol (docs/PROTOCOL.md,
-- version 2), on UDP and on stream links (serial lines, TCP) captured by
-- `minichat serve --capture` and `minichat chat --capture`.
--
-- Install: copy into ~/.local/lib/wireshark/plugins/ (Wireshark and tshark load it at
-- start), or run `tshark -X lua_script:contrib/wireshark/minichat.lua -r FILE`.
--
-- UDP port 8080 is minichat's; on any other UDP port a datagram that starts like a
-- minichat frame (0xff, the version, a kind the protocol defines) is taken too. On
-- port 8080 a datagram that does not start with 0xff is the plain text of the original
-- programs' clients and is shown as such. A frame the Rust codec would refuse is flagged
-- with expert info saying why; nothing in a capture can make this script fail.
--
-- Encrypted sessions: `hello`, `answer` and `sealed` frames are shown as such. Given the
-- key log minichat writes when asked (`MINICHAT_KEYLOGFILE=keys.log minichat chat ...`),
-- by `-o minichat.keylog_file:keys.log` or the same environment variable, every sealed
-- frame of a logged session is opened (tag checked, rekeying followed) and the frame
-- inside dissected: `tshark -X lua_script:minichat.lua -o minichat.keylog_file:keys.log
-- -r capture.pcapng`. A frame no logged key opens is flagged.
--
-- Stream links are in pcapng records of link type USER0 (147), written by minichat: the
-- direction (0 received, 1 sent), the link (1 serial, 2 TCP), the length of the link's
-- name, the name, then the bytes on the line: COBS of the frame and its CRC-32, and the
-- 0x00 delimiter.

local VERSION = 2
local PORT = 8080
local MAX_FRAME = 1024
local MAX_NAME = 16
local MAX_TEXT = 989
local MAX_DETAIL = 96

local minichat = Proto("minichat", "minichat")
local stream = Proto("minichat_stream", "minichat stream link")

local kinds = {
    [0x01] = "join", [0x02] = "cookie", [0x03] = "welcome", [0x04] = "leave",
    [0x05] = "unknown-session", [0x06] = "challenge", [0x07] = "challenge-response",
    [0x08] = "refused", [0x09] = "moved", [0x0a] = "hello", [0x0b] = "answer",
    [0x0c] = "sealed", [0x0d] = "key-request", [0x0e] = "server-key",
    [0x0f] = "hello-key", [0x10] = "say",
    [0x11] = "tell",
    [0x12] = "deliver", [0x13] = "missed", [0x14] = "ack", [0x20] = "who",
    [0x21] = "users", [0x22] = "echo", [0x23] = "echo-reply", [0x24] = "ping",
    [0x25] = "pong", [0x26] = "key-of", [0x27] = "user-key", [0x30] = "error",
}
local codes = {
    [1] = "malformed", [2] = "unsupported-version", [3] = "name-taken", [4] = "server-full",
    [5] = "no-such-user", [6] = "rate-limited", [7] = "kicked", [8] = "shutting-down",
    [9] = "text-too-long", [10] = "invalid-name", [11] = "too-many-from-address",
    [12] = "encryption-required", [13] = "name-owned", [14] = "key-not-authorized",
    [15] = "key-banned",
}
local modes = { [0] = "same", [1] = "upper", [2] = "lower" }

local f = minichat.fields
f.magic = ProtoField.uint8("minichat.magic", "Magic", base.HEX)
f.version = ProtoField.uint8("minichat.version", "Version")
f.kind = ProtoField.uint8("minichat.kind", "Kind", base.HEX, kinds)
f.token = ProtoField.uint64("minichat.token", "Session token", base.HEX)
f.cookie = ProtoField.bytes("minichat.cookie", "Cookie")
f.nonce = ProtoField.uint64("minichat.nonce", "Join nonce", base.HEX)
f.window = ProtoField.uint16("minichat.window", "Window")
f.resume = ProtoField.uint64("minichat.resume", "Resumed session", base.HEX)
f.delivered = ProtoField.uint32("minichat.delivered", "Last delivery handed over")
f.max_frame = ProtoField.uint16("minichat.max_frame", "Largest frame taken")
f.name = ProtoField.string("minichat.name", "Name", base.UNICODE)
f.keepalive = ProtoField.uint32("minichat.keepalive_ms", "Keep-alive (ms)")
f.max_text = ProtoField.uint16("minichat.max_text", "Longest text")
f.rate = ProtoField.uint16("minichat.rate_per_sec", "Messages a second")
f.code = ProtoField.uint8("minichat.code", "Error code", base.DEC, codes)
f.detail = ProtoField.string("minichat.detail", "Detail", base.UNICODE)
f.challenge = ProtoField.uint32("minichat.challenge", "Challenge nonce", base.HEX)
f.seq = ProtoField.uint32("minichat.seq", "Sequence number")
f.digest = ProtoField.uint32("minichat.digest", "Digest", base.HEX)
f.text = ProtoField.string("minichat.text", "Text", base.UNICODE)
f.to = ProtoField.string("minichat.to", "To", base.UNICODE)
f.from = ProtoField.string("minichat.from", "From", base.UNICODE)
f.flags = ProtoField.uint8("minichat.flags", "Flags", base.HEX)
f.direct = ProtoField.bool("minichat.flags.direct", "Direct", 8, nil, 0x01)
f.history = ProtoField.bool("minichat.flags.history", "History", 8, nil, 0x02)
f.sack = ProtoField.uint32("minichat.sack", "Selective acknowledgement", base.HEX)
f.req = ProtoField.uint32("minichat.req", "Request")
f.start = ProtoField.uint16("minichat.start", "First name's index")
f.total = ProtoField.uint16("minichat.total", "Users in all")
f.count = ProtoField.uint8("minichat.count", "Names in this page")
f.place = ProtoField.string("minichat.place", "On server", base.UNICODE)
f.handshake = ProtoField.bytes("minichat.handshake", "Noise handshake message")
f.counter = ProtoField.uint64("minichat.counter", "Sealed frame's nonce")
f.sealed = ProtoField.bytes("minichat.sealed", "Sealed frame (encrypted) and tag")
f.decrypted = ProtoField.string("minichat.decrypted", "Decrypted with the key log")
f.server_key = ProtoField.bytes("minichat.server_key", "Server's static public key")
f.fleet = ProtoField.bool("minichat.fleet", "Fleet key wanted", 8, nil, 0x01)
f.here = ProtoField.bool("minichat.here", "A user of this server", 8, nil, 0x01)
f.user_key = ProtoField.bytes("minichat.user_key", "The user's client key")
f.mode = ProtoField.uint8("minichat.mode", "Echo mode", base.DEC, modes)
f.legacy = ProtoField.string("minichat.legacy", "Plain text (a client of the original programs)")

local e_malformed = ProtoExpert.new("minichat.malformed", "Malformed minichat frame",
    expert.group.MALFORMED, expert.severity.ERROR)
local e_undecrypted = ProtoExpert.new("minichat.undecrypted", "Sealed frame not decrypted",
    expert.group.DECRYPTION, expert.severity.WARN)
minichat.experts = { e_malformed, e_undecrypted }

local fs = stream.fields
fs.direction = ProtoField.uint8("minichat_stream.direction", "Direction", base.DEC,
    { [0] = "received", [1] = "sent" })
fs.link = ProtoField.uint8("minichat_stream.link", "Link", base.DEC, { [1] = "serial", [2] = "tcp" })
fs.link_name = ProtoField.string("minichat_stream.link_name", "Link name")
fs.encoded = ProtoField.bytes("minichat_stream.encoded", "Encoded frame (COBS)")
fs.check = ProtoField.uint32("minichat_stream.check", "Check (CRC-32)", base.HEX)
fs.check_good = ProtoField.bool("minichat_stream.check_good", "Check good")

local e_stream = ProtoExpert.new("minichat_stream.bad", "Bad stream frame",
    expert.group.MALFORMED, expert.severity.ERROR)
local e_check = ProtoExpert.new("minichat_stream.bad_check", "Check (CRC-32) does not match: line noise, not parsed",
    expert.group.CHECKSUM, expert.severity.ERROR)
stream.experts = { e_stream, e_check }

-- Bit operations: Lua 5.2's bit32, or LuaJIT/LuaBitOp's bit (signed; normalised).
local bitlib = bit32 or bit
local function u32(x) return x % 4294967296 end
local function band(a, b) return u32(bitlib.band(a, b)) end
local function bxor(a, b) return u32(bitlib.bxor(a, b)) end
local function rshift(a, n) return u32(bitlib.rshift(a, n)) end

local crc_table = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
        if band(c, 1) == 1 then c = bxor(rshift(c, 1), 0xEDB88320) else c = rshift(c, 1) end
    end
    crc_table[i] = c
end

-- CRC-32/ISO-HDLC of the first `len` bytes of a ByteArray.
local function crc32(bytes, len)
    local c = 0xFFFFFFFF
    for i = 0, len - 1 do
        c = bxor(crc_table[band(bxor(c, bytes:get_index(i)), 0xFF)], rshift(c, 8))
    end
    return bxor(c, 0xFFFFFFFF)
end

-- Encrypted sessions, read with a key log (PROTOCOL.md section 12, "Key log"): the file
-- `MINICHAT_KEYLOGFILE` made minichat write, named by the preference `minichat.keylog_file`
-- or, when that is empty, by the same environment variable. A sealed frame whose session
-- is in it is opened — ChaCha20-Poly1305 as Noise uses it, tag checked — and the frame
-- inside is dissected as if it had been sent in the clear.
local floor = math.floor
local function bor(a, b) return u32(bitlib.bor(a, b)) end
local function lshift(a, n) return u32(bitlib.lshift(a, n)) end
local function rotl(x, n) return bor(lshift(x, n), rshift(x, 32 - n)) end

-- 32 bytes (a 1-indexed table) as 8 little-endian words.
local function words(bytes)
    local w = {}
    for i = 0, 7 do
        w[i + 1] = bytes[4 * i + 1] + bytes[4 * i + 2] * 0x100 + bytes[4 * i + 3] * 0x10000
            + bytes[4 * i + 4] * 0x1000000
    end
    return w
end

-- ChaCha20's block function (RFC 8439, section 2.3): 64 bytes of keystream for the key
-- (8 words), the block counter and the nonce (3 words).
local function chacha_block(key, counter, nonce)
    local s = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, key[1], key[2], key[3], key[4],
        key[5], key[6], key[7], key[8], counter, nonce[1], nonce[2], nonce[3] }
    local x = {}
    for i = 1, 16 do x[i] = s[i] end
    local function qr(a, b, c, d)
        x[a] = u32(x[a] + x[b]); x[d] = rotl(bxor(x[d], x[a]), 16)
        x[c] = u32(x[c] + x[d]); x[b] = rotl(bxor(x[b], x[c]), 12)
        x[a] = u32(x[a] + x[b]); x[d] = rotl(bxor(x[d], x[a]), 8)
        x[c] = u32(x[c] + x[d]); x[b] = rotl(bxor(x[b], x[c]), 7)
    end
    for _ = 1, 10 do
        qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15); qr(4, 8, 12, 16)
        qr(1, 6, 11, 16); qr(2, 7, 12, 13); qr(3, 8, 9, 14); qr(4, 5, 10, 15)
    end
    local out = {}
    for i = 1, 16 do
        local w = u32(x[i] + s[i])
        for _ = 1, 4 do
            out[#out + 1] = w % 256
            w = floor(w / 256)
        end
    end
    return out
end

-- Numbers as 16-bit limbs, least significant first: `p` carried so every limb is < 2^16.
local function carry(p)
    local c, i = 0, 1
    while i <= #p or c > 0 do
        local v = (p[i] or 0) + c
        c = floor(v / 65536)
        p[i] = v - c * 65536
        i = i + 1
    end
    return p
end

-- `p` (carried) reduced below 2^130 + a little, modulo 2^130 - 5: what is above bit 130
-- comes back in times 5.
local function fold(p)
    while #p > 9 or (p[9] or 0) >= 4 do
        local high = {}
        for k = 0, #p - 9 do
            high[k + 1] = floor((p[9 + k] or 0) / 4) + ((p[10 + k] or 0) % 4) * 16384
        end
        local low = {}
        for i = 1, 8 do low[i] = p[i] or 0 end
        low[9] = (p[9] or 0) % 4
        for k = 1, #high do low[k] = low[k] + 5 * high[k] end
        p = carry(low)
    end
    for i = #p + 1, 9 do p[i] = 0 end
    return p
end

-- Poly1305 (RFC 8439, section 2.5) of `msg` (1-indexed bytes) with the 32-byte key `key`.
local function poly1305(key, msg)
    local rb = {}
    for i = 1, 16 do rb[i] = key[i] end
    for _, i in ipairs({ 4, 8, 12, 16 }) do rb[i] = rb[i] % 16 end
    for _, i in ipairs({ 5, 9, 13 }) do rb[i] = rb[i] - rb[i] % 4 end
    local r = {}
    for i = 0, 7 do r[i + 1] = rb[2 * i + 1] + rb[2 * i + 2] * 256 end
    local h = { 0, 0, 0, 0, 0, 0, 0, 0, 0 }
    for start = 1, #msg, 16 do
        local len = math.min(16, #msg - start + 1)
        for j = 0, len - 1 do
            local limb = floor(j / 2) + 1
            h[limb] = h[limb] + msg[start + j] * ((j % 2 == 0) and 1 or 256)
        end
        local bit = 8 * len
        local limb = floor(bit / 16) + 1
        h[limb] = h[limb] + 2 ^ (bit % 16)
        local p = {}
        for k = 1, 17 do p[k] = 0 end
        for i = 1, 9 do
            for j = 1, 8 do p[i + j - 1] = p[i + j - 1] + h[i] * r[j] end
        end
        h = fold(carry(p))
    end
    -- Fully reduced: h - p if h >= p = 2^130 - 5, that is if h + 5 reaches 2^130.
    local g = {}
    for i = 1, 9 do g[i] = h[i] end
    g[1] = g[1] + 5
    g = carry(g)
    if (g[9] or 0) >= 4 then h = g; h[9] = h[9] - 4 end
    local t = {}
    for i = 0, 7 do t[i + 1] = h[i + 1] + key[17 + 2 * i] + key[18 + 2 * i] * 256 end
    t = carry(t)
    local tag = {}
    for i = 1, 8 do
        tag[#tag + 1] = t[i] % 256
        tag[#tag + 1] = floor(t[i] / 256)
    end
    return tag
end

-- Opens `sealed` (bytes: ciphertext then the 16-byte tag) under `key` (8 words) and the
-- 64-bit nonce (`hi`, `lo`) with `ad`: the plaintext bytes, or nil if the tag is wrong.
local function aead_open(key, hi, lo, ad, sealed)
    if #sealed < 16 then return nil end
    local nonce = { 0, lo, hi }
    local otk = chacha_block(key, 0, nonce)
    local n = #sealed - 16
    local mac = {}
    local function put(bytes, from, to)
        for i = from, to do mac[#mac + 1] = bytes[i] end
        while #mac % 16 ~= 0 do mac[#mac + 1] = 0 end
    end
    put(ad, 1, #ad)
    put(sealed, 1, n)
    for _, len in ipairs({ #ad, n }) do
        for _ = 1, 8 do
            mac[#mac + 1] = len % 256
            len = floor(len / 256)
        end
    end
    local tag = poly1305(otk, mac)
    for i = 1, 16 do
        if tag[i] ~= sealed[n + i] then return nil end
    end
    local plain = {}
    for block = 0, floor((n - 1) / 64) do
        local ks = chacha_block(key, block + 1, nonce)
        for j = 1, 64 do
            local at = block * 64 + j
            if at > n then break end
            plain[at] = u32(bitlib.bxor(sealed[at], ks[j]))
        end
    end
    return plain
end

-- Noise's REKEY for ChaChaPoly: the first 32 bytes of encrypting zeros under nonce 2^64 - 1.
local function rekey(key)
    local ks = chacha_block(key, 1, { 0, 0xFFFFFFFF, 0xFFFFFFFF })
    local bytes = {}
    for i = 1, 32 do bytes[i] = ks[i] end
    return words(bytes)
end

-- The key log's sessions by token (lower-case hex): for each direction (0 client to
-- server, 1 server to client) its keys by epoch, from the first on.
local keylog = { path = nil, size = -1, sessions = {} }
local dissect_frame

local function keylog_path()
    local path = minichat.prefs.keylog_file
    if path == nil or path == "" then path = os.getenv("MINICHAT_KEYLOGFILE") end
    if path == "" then return nil end
    return path
end

local function hex_bytes(hex)
    local bytes = {}
    for i = 1, #hex, 2 do bytes[#bytes + 1] = tonumber(hex:sub(i, i + 1), 16) end
    return bytes
end

-- Reads the key log again if it changed (minichat appends a line per session).
local function load_keylog()
    local path = keylog_path()
    if not path then return end
    local file = io.open(path, "r")
    if not file then return end
    local text = file:read("*a") or ""
    file:close()
    if path == keylog.path and #text == keylog.size then return end
    keylog.path, keylog.size, keylog.sessions = path, #text, {}
    for line in text:gmatch("[^\r\n]+") do
        local token, c2s, s2c = line:match("^MINICHAT_SESSION%s+(%x+)%s+(%x+)%s+(%x+)%s*$")
        if token and #token == 16 and #c2s == 64 and #s2c == 64 then
            keylog.sessions[token:lower()] = {
                [0] = { words(hex_bytes(c2s)) }, [1] = { words(hex_bytes(s2c)) },
            }
        end
    end
end

-- The key of `epoch` (rekeyed from the first as often as needed; at most 4096 times).
local function key_for(keys, epoch)
    if epoch > 4096 then return nil end
    while #keys <= epoch do keys[#keys + 1] = rekey(keys[#keys]) end
    return keys[epoch + 1]
end

-- Opens the sealed frame `tvb` with the key log: the frame inside (a Tvb) and the
-- direction it went, or nil and why not.
local function open_sealed(tvb)
    local bytes = tvb:bytes()
    local token = bytes:subset(3, 8):tohex():lower()
    local session = keylog.sessions[token]
    if not session then
        load_keylog()
        session = keylog.sessions[token]
    end
    if not session then return nil, "its session is not in the key log" end
    local hi, lo = tvb(11, 4):uint(), tvb(15, 4):uint()
    local epoch = hi * 65536 + math.floor(lo / 65536)
    local ad, sealed = {}, {}
    for i = 0, 18 do ad[#ad + 1] = bytes:get_index(i) end
    for i = 19, tvb:len() - 1 do sealed[#sealed + 1] = bytes:get_index(i) end
    for dir = 0, 1 do
        local key = key_for(session[dir], epoch)
        local plain = key and aead_open(key, hi, lo, ad, sealed)
        if plain then
            local inner = ByteArray.new()
            inner:set_size(#plain)
            for i = 1, #plain do inner:set_index(i - 1, plain[i]) end
            return inner:tvb("Decrypted minichat frame"), dir
        end
    end
    return nil, "no key of its session in the key log opens it: damaged, forged, or replayed from another session"
end

-- Whether bytes [off, off + len) of `tvb` are UTF-8, and the first control character
-- they hold (U+0000..U+001F, U+007F..U+009F, as Rust's `char::is_control` says), if any.
local function utf8_check(tvb, off, len)
    local i, stop, control = off, off + len, nil
    while i < stop do
        local b = tvb(i, 1):uint()
        local n, min, cp
        if b < 0x80 then n, cp, min = 0, b, 0
        elseif b >= 0xC2 and b <= 0xDF then n, cp, min = 1, b - 0xC0, 0x80
        elseif b >= 0xE0 and b <= 0xEF then n, cp, min = 2, b - 0xE0, 0x800
        elseif b >= 0xF0 and b <= 0xF4 then n, cp, min = 3, b - 0xF0, 0x10000
        else return false, control end
        if i + n > stop - 1 then return false, control end -- continuation bytes missing
        for k = 1, n do
            local c = tvb(i + k, 1):uint()
            if c < 0x80 or c > 0xBF then return false, control end
            cp = cp * 64 + (c - 0x80)
        end
        if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false, control end
        if not control and (cp < 0x20 or (cp >= 0x7F and cp <= 0x9F)) then control = cp end
        i = i + n + 1
    end
    return true, control
end

-- A reader over one frame's body: every field goes into `tree`; the first problem is
-- kept in `err` and stops the reading.
local Reader = {}
Reader.__index = Reader

local function reader(tvb, tree, off, kind)
    return setmetatable({ tvb = tvb, tree = tree, off = off, kind = kind, err = nil }, Reader)
end

function Reader:need(n)
    if self.err then return false end
    if self.off + n > self.tvb:len() then
        self.err = "the " .. (kinds[self.kind] or "?") .. " frame ends before its last field"
        return false
    end
    return true
end

function Reader:int(field, size)
    if not self:need(size) then return nil end
    local range = self.tvb(self.off, size)
    self.tree:add(field, range)
    self.off = self.off + size
    if size == 8 then return range:uint64() end
    return range:uint()
end

function Reader:bytes(field, size)
    if not self:need(size) then return end
    self.tree:add(field, self.tvb(self.off, size))
    self.off = self.off + size
end

-- A string with a length of `len_size` bytes before it, checked in the order the Rust
-- codec checks (core/src/wire/cursor.rs), so both name the same first problem: a text's
-- or detail's length limit before its bytes, a name's bytes before its rules.
function Reader:string(field, len_size, what, len_mask)
    if not self:need(len_size) then return nil end
    local len = self.tvb(self.off, len_size):uint()
    if len_mask then len = band(len, len_mask) end
    if what == "text" and len > MAX_TEXT then
        self.err = "the text is " .. len .. " bytes long, over the limit of 989 bytes"
        return nil
    elseif what == "detail" and len > MAX_DETAIL then
        self.err = "the error detail is " .. len .. " bytes long, over the limit of 96 bytes"
        return nil
    end
    if not self:need(len_size + len) then return nil end
    local start = self.off + len_size
    local range = self.tvb(start, len)
    local item = self.tree:add(field, self.tvb(self.off, len_size + len), range:string(ENC_UTF_8))
    self.off = start + len
    local utf8, control = utf8_check(self.tvb, start, len)
    if what == "name" then
        if len > MAX_NAME then self.err = "a user name is " .. len .. " bytes long, over the limit of 16 bytes"
        elseif not utf8 then self.err = "a user name is not valid UTF-8"
        elseif len == 0 then self.err = "a user name must not be empty"
        elseif control then
            self.err = string.format("a user name contains a control character (U+%04X), which is not allowed", control)
        end
    elseif not utf8 then
        self.err = "the text is not valid UTF-8" -- the codec's words for a detail too
    end
    return self.err == nil and range:string(ENC_UTF_8) or nil, item
end

function Reader:name(field) return self:string(field or f.name, 1, "name") end

-- The frame's last field: everything left, at least `min` bytes (the Rust codec's words
-- when it is shorter).
function Reader:rest(field, min)
    if self.err then return nil end
    local left = self.tvb:len() - self.off
    if left < min then
        self.err = "the " .. (kinds[self.kind] or "?") .. " frame ends before its last field"
        return nil
    end
    self.tree:add(field, self.tvb(self.off, left))
    self.off = self.off + left
    return left
end

-- A user in a `users` list: a name whose length byte's top bit (0x80) says that the name
-- of the server it is on follows (a user of another server sharing the room).
function Reader:listed_name()
    if not self:need(1) then return nil end
    local elsewhere = band(self.tvb(self.off, 1):uint(), 0x80) ~= 0
    local name = self:string(f.name, 1, "name", elsewhere and 0x7f or nil)
    if name and elsewhere then
        local place = self:string(f.place, 1, "name")
        return place and (name .. " (on " .. place .. ")")
    end
    return name
end
function Reader:text() return self:string(f.text, 2, "text") end
function Reader:detail() return self:string(f.detail, 1, "detail") end

function Reader:code()
    local code = self:int(f.code, 1)
    if code and not codes[code] then self.err = code .. " is not an error code this version defines" end
    return code
end

function Reader:mode()
    local mode = self:int(f.mode, 1)
    if mode and not modes[mode] then self.err = mode .. " is not an echo mode (0 same, 1 upper, 2 lower)" end
    return mode
end

-- The body of each kind after the header (and the token, for kinds that carry one), as
-- PROTOCOL.md section 6 lays it out. Returns a short summary for the Info column.
local bodies = {}
bodies[0x01] = function(r)
    r:bytes(f.cookie, 16); r:int(f.nonce, 8); r:int(f.window, 2); r:int(f.resume, 8)
    r:int(f.delivered, 4)
    local name = r:name()
    -- The optional last field: absent means 1024.
    if not r.err and r.off < r.tvb:len() then
        local max_frame = r:int(f.max_frame, 2)
        if max_frame and (max_frame < 168 or max_frame > 1023) then
            r.err = "the join says the client takes frames of at most " .. max_frame
                .. " bytes; it must be between 168 and 1023 (1024 is said by leaving the field out)"
        end
    end
    return name
end
bodies[0x02] = function(r) r:bytes(f.cookie, 16); r:int(f.nonce, 8) end
bodies[0x03] = function(r)
    r:int(f.nonce, 8); r:int(f.keepalive, 4); r:int(f.max_text, 2); r:int(f.rate, 2)
    return r:name()
end
bodies[0x04] = function(r) r:int(f.seq, 4) end
bodies[0x05] = function(r) end
bodies[0x06] = function(r) r:int(f.challenge, 4) end
bodies[0x07] = bodies[0x06]
bodies[0x08] = function(r) r:int(f.nonce, 8); r:code(); return r:detail() end
bodies[0x09] = function(r) r:int(f.challenge, 4); r:int(f.seq, 4); r:int(f.digest, 4) end
-- Encrypted sessions (PROTOCOL.md section 12): the handshakes are shown as such; a sealed
-- frame is opened when a key log holds its session (see `open_sealed`).
bodies[0x0a] = function(r)
    r:bytes(f.cookie, 16); r:int(f.nonce, 8)
    local n = r:rest(f.handshake, 48)
    return n and ("handshake, " .. n .. " bytes")
end
-- The client's static key is sealed in it: nothing more to show without the handshake keys.
bodies[0x0f] = bodies[0x0a]
bodies[0x0b] = function(r)
    r:int(f.nonce, 8)
    local n = r:rest(f.handshake, 48)
    return n and ("handshake, " .. n .. " bytes")
end
bodies[0x0c] = function(r)
    r:int(f.counter, 8)
    local n = r:rest(f.sealed, 16)
    return n and ("sealed, " .. (n - 16) .. " bytes")
end
bodies[0x0d] = function(r)
    r:int(f.nonce, 8)
    if r:need(33) then
        for i = 0, 32 do
            if r.tvb(r.off + i, 1):uint() ~= 0 then r.err = "the padding of the frame is not all zeros" end
        end
        r.off = r.off + 33
    end
end
bodies[0x0e] = function(r)
    r:int(f.nonce, 8)
    if r:need(1) then
        local flags = r.tvb(r.off, 1)
        r.tree:add(f.fleet, flags)
        r.off = r.off + 1
        if band(flags:uint(), 0xFE) ~= 0 then
            r.err = string.format("the flags byte 0x%02x sets bits this version does not define", flags:uint())
        end
    end
    r:bytes(f.server_key, 32)
end
bodies[0x10] = function(r) r:int(f.seq, 4); return r:text() end
bodies[0x11] = function(r)
    r:int(f.seq, 4)
    local to = r:name(f.to)
    local text = r:text()
    return to and text and (to .. ": " .. text)
end
bodies[0x12] = function(r)
    r:int(f.seq, 4)
    if r:need(1) then
        local flags = r.tvb(r.off, 1)
        local item = r.tree:add(f.flags, flags)
        item:add(f.direct, flags)
        item:add(f.history, flags)
        r.off = r.off + 1
        local value = flags:uint()
        if band(value, 0xFC) ~= 0 then
            r.err = string.format("the flags byte 0x%02x sets bits this version does not define", value)
        end
    end
    local from = r:name(f.from)
    local text = r:text()
    return from and text and (from .. ": " .. text)
end
bodies[0x13] = bodies[0x04]
bodies[0x14] = function(r) r:int(f.seq, 4); r:int(f.sack, 4) end
bodies[0x20] = function(r) r:int(f.req, 4); r:int(f.start, 2) end
bodies[0x21] = function(r)
    r:int(f.req, 4)
    local total = r:int(f.total, 2)
    local start = r:int(f.start, 2)
    local count = r:int(f.count, 1)
    local names = {}
    for _ = 1, (count or 0) do
        local name = r:listed_name()
        if not name then break end
        names[#names + 1] = name
    end
    if not r.err and start + count > total then
        r.err = "the user list claims names " .. start .. ".." .. (start + count) .. " of only " .. total
    end
    return table.concat(names, ", ")
end
bodies[0x22] = function(r) r:int(f.req, 4); r:mode(); return r:text() end
bodies[0x23] = bodies[0x22]
bodies[0x24] = function(r) r:int(f.req, 4) end
bodies[0x25] = bodies[0x24]
-- Client keys (PROTOCOL.md section 12): whose key is a user's?
bodies[0x26] = function(r) r:int(f.req, 4); return r:name() end
bodies[0x27] = function(r)
    r:int(f.req, 4)
    if r:need(1) then
        local flags = r.tvb(r.off, 1)
        r.tree:add(f.here, flags)
        r.off = r.off + 1
        local value = flags:uint()
        if band(value, 0xFC) ~= 0 then
            r.err = string.format("the flags byte 0x%02x sets bits this version does not define", value)
            return
        end
        if band(value, 0x02) ~= 0 then r:bytes(f.user_key, 32) end
    end
    return r:name()
end
bodies[0x30] = function(r) r:code(); r:int(f.seq, 4); return r:detail() end

local function has_token(kind)
    return kind ~= 0x01 and kind ~= 0x02 and kind ~= 0x08 and kind ~= 0x0a and kind ~= 0x0b
        and kind ~= 0x0d and kind ~= 0x0e and kind ~= 0x0f
end

-- Dissects one frame (`tvb` holds exactly it); returns whether it parsed. (Declared
-- earlier: a sealed frame's contents are a frame too.)
dissect_frame = function(tvb, pinfo, tree)
    pinfo.cols.protocol = "minichat"
    local len = tvb:len()
    local item = tree:add(minichat, tvb())
    local function bad(why)
        item:add_proto_expert_info(e_malformed, why)
        pinfo.cols.info = "malformed: " .. why
        return false
    end
    if len > MAX_FRAME then
        return bad("the frame is " .. len .. " bytes long, over the limit of 1024 bytes")
    end
    if len < 3 then
        return bad("the frame is " .. len .. " bytes long, too short for the 3-byte header")
    end
    item:add(f.magic, tvb(0, 1))
    local version = tvb(1, 1):uint()
    item:add(f.version, tvb(1, 1))
    if version ~= VERSION then
        return bad("the frame speaks protocol version " .. version .. ", but this build speaks version 2")
    end
    local kind = tvb(2, 1):uint()
    item:add(f.kind, tvb(2, 1))
    local body = bodies[kind]
    if not body then
        return bad(string.format("0x%02x is not a message kind this protocol defines", kind))
    end
    local name = kinds[kind]
    item:append_text(", " .. name)
    local r = reader(tvb, item, 3, kind)
    if has_token(kind) then r:int(f.token, 8) end
    local summary = body(r)
    if not r.err and r.off < len then
        r.err = "the " .. name .. " frame has " .. (len - r.off) .. " bytes after its last field"
    end
    if r.err then return bad(r.err) end
    local info = name
    if summary and summary ~= "" then info = info .. " " .. summary end
    pinfo.cols.info = info
    if kind == 0x0c and keylog_path() then
        local inner, dir = open_sealed(tvb)
        if not inner then
            item:add_proto_expert_info(e_undecrypted, "not decrypted: " .. dir)
            return true
        end
        item:add(f.decrypted, tvb(), dir == 0 and "client to server" or "server to client")
        local ok = dissect_frame(inner, pinfo, tree)
        pinfo.cols.info = "sealed: " .. tostring(pinfo.cols.info)
        return ok
    end
    return true
end

function minichat.dissector(tvb, pinfo, tree)
    if tvb:len() == 0 or tvb(0, 1):uint() ~= 0xFF then
        -- Not a frame: the plain text of the original programs.
        pinfo.cols.protocol = "minichat"
        local text = tvb():string(ENC_UTF_8)
        tree:add(minichat, tvb(), "minichat plain text"):add(f.legacy, tvb(), text)
        pinfo.cols.info = "plain text: " .. text:gsub("[\r\n]+$", "")
        return tvb:len()
    end
    dissect_frame(tvb, pinfo, tree)
    return tvb:len()
end

-- On any UDP port: frames that start like minichat's.
local function heuristic(tvb, pinfo, tree)
    if tvb:len() < 3 or tvb(0, 1):uint() ~= 0xFF or tvb(1, 1):uint() ~= VERSION then return false end
    if not kinds[tvb(2, 1):uint()] then return false end
    dissect_frame(tvb, pinfo, tree)
    pinfo.conversation = minichat
    return true
end

-- COBS-decodes `tvb` [off, stop) (without the delimiter) into a ByteArray; nil and why
-- if a code points past the end.
local function cobs_decode(tvb, off, stop)
    local out = ByteArray.new()
    local i = off
    while i < stop do
        local code = tvb(i, 1):uint()
        if code == 0 then return nil, "a zero byte inside a COBS frame" end
        if i + code > stop then return nil, "the last COBS code points past the delimiter" end
        if code > 1 then out:append(tvb(i + 1, code - 1):bytes()) end
        i = i + code
        if code < 0xFF and i < stop then out:append(ByteArray.new("00")) end
    end
    return out
end

function stream.dissector(tvb, pinfo, tree)
    local len = tvb:len()
    if len < 3 then return 0 end
    pinfo.cols.protocol = "minichat stream"
    local name_len = tvb(2, 1):uint()
    if 3 + name_len > len then return 0 end
    local item = tree:add(stream, tvb())
    item:add(fs.direction, tvb(0, 1))
    item:add(fs.link, tvb(1, 1))
    local name = tvb(3, name_len):string(ENC_UTF_8)
    item:add(fs.link_name, tvb(3, name_len), name)
    -- No addresses on a stream: the columns say which end spoke.
    if tvb(0, 1):uint() == 0 then
        pinfo.cols.src, pinfo.cols.dst = name, "(capturing end)"
    else
        pinfo.cols.src, pinfo.cols.dst = "(capturing end)", name
    end
    local off = 3 + name_len
    local frames = 0
    while off < len do
        -- One frame: up to and with its delimiter.
        local stop = off
        while stop < len and tvb(stop, 1):uint() ~= 0 do stop = stop + 1 end
        local frame_item = item:add(fs.encoded, tvb(off, math.min(stop + 1, len) - off))
        if stop > off then
            local decoded, why = cobs_decode(tvb, off, stop)
            if not decoded then
                frame_item:add_proto_expert_info(e_stream, why)
            elseif decoded:len() < 4 then
                frame_item:add_proto_expert_info(e_stream, "a frame shorter than its check")
            else
                local n = decoded:len() - 4
                local frame_tvb = decoded:tvb("minichat frame")
                local check = frame_tvb(n, 4):le_uint()
                frame_item:add(fs.check, frame_tvb(n, 4), check)
                local good = crc32(decoded, n) == check
                frame_item:add(fs.check_good, good)
                if good then
                    frames = frames + 1
                    dissect_frame(frame_tvb(0, n):tvb(), pinfo, tree)
                else
                    frame_item:add_proto_expert_info(e_check)
                end
            end
        end
        off = stop + 1
    end
    if frames == 0 then pinfo.cols.info = "stream bytes on " .. name end
    return len
end

-- The server's UDP port (8080 unless `minichat serve --bind` chose another): frames and
-- the original programs' plain text on it. `tshark -o minichat.port:N` sets it.
minichat.prefs.port = Pref.uint("UDP port", PORT, "The minichat server's UDP port")
-- `tshark -o minichat.keylog_file:PATH`, or MINICHAT_KEYLOGFILE in the environment.
minichat.prefs.keylog_file = Pref.string("Key log file", "",
    "The key log minichat wrote (MINICHAT_KEYLOGFILE): sealed frames of its sessions are decrypted")
local registered_port = PORT
DissectorTable.get("udp.port"):add(PORT, minichat)
function minichat.prefs_changed()
    if minichat.prefs.port ~= registered_port then
        DissectorTable.get("udp.port"):remove(registered_port, minichat)
        registered_port = minichat.prefs.port
        DissectorTable.get("udp.port"):add(registered_port, minichat)
    end
end
minichat:register_heuristic("udp", heuristic)
DissectorTable.get("wtap_encap"):add(wtap_encaps and wtap_encaps.USER0 or wtap.USER0, stream)
