/* sotto: a secure voice and video calling engine. C interface of the sotto-ffi crate.
 * Generated from crates/ffi/src by cbindgen (crates/ffi/tests/header.rs); do not edit:
 * change the Rust source and run `SOTTO_BLESS=1 cargo test -p sotto-ffi --test header`. */

#ifndef SOTTO_H
#define SOTTO_H

#include <stdint.h>
#include <stddef.h>

// Bytes in `sotto_event.sas`, its NUL included (two PGP words fit with room to spare).
#define SOTTO_SAS_CAPACITY 64

// Bytes in `sotto_event.algorithms`, its NUL included.
#define SOTTO_ALGORITHMS_CAPACITY 64

// Bytes in `sotto_event.text`, its NUL included; longer text is cut at a character boundary.
#define SOTTO_TEXT_CAPACITY 256

// The longest offer or answer line there is, in bytes, without its NUL: what a peer reads at
// most (`sotto::signal::MAX_LINE_LEN`).
#define SOTTO_MAX_LINE_LEN 21871

// Bytes in a buffer that holds any offer or answer line, its NUL included.
// `sotto_prepared_answer`, `sotto_call_restart_path` and `sotto_call_answer_path_restart`
// require this much; an offer fits in it too.
#define SOTTO_LINE_CAPACITY (SOTTO_MAX_LINE_LEN + 1)

// What a function returned: `SOTTO_STATUS_OK` (0) or another non-negative outcome, or a
// negative error whose message `sotto_last_error` holds.
typedef enum sotto_status {
  // Done.
  SOTTO_STATUS_OK = 0,
  // `sotto_call_next_event`: no event came within the timeout, or the call has ended and
  // every event was taken.
  SOTTO_STATUS_NO_EVENT = 1,
  // A pointer argument that must not be NULL was NULL.
  SOTTO_STATUS_NULL_POINTER = -1,
  // A string argument is not valid UTF-8.
  SOTTO_STATUS_INVALID_UTF8 = -2,
  // An argument cannot be used (an address that does not resolve, an unknown audio or video
  // spec, ...).
  SOTTO_STATUS_INVALID_ARGUMENT = -3,
  // The call could not start (port in use, cache unreadable, device missing, ...), or a
  // path restart could not (a socket error while gathering, ...).
  SOTTO_STATUS_START_FAILED = -4,
  // An internal error in sotto was caught before it reached the caller; please report it.
  SOTTO_STATUS_PANIC = -5,
  // The caller's buffer is too small for the text; nothing but an empty string was written,
  // and `*needed` says how many bytes to pass.
  SOTTO_STATUS_BUFFER_TOO_SMALL = -6,
  // The prepared call was used up by a failed answer or accept; free it and prepare a
  // new one.
  SOTTO_STATUS_USED_UP = -7,
} sotto_status;

// What kind of event a `sotto_event` holds; the fields it fills are named on each kind.
typedef enum sotto_event_kind {
  // No event (never returned by `sotto_call_next_event`).
  SOTTO_EVENT_KIND_NONE = 0,
  // The Short Authentication String to read aloud and compare with the peer's: `sas`,
  // `text` (its rendering, `"B32"` or `"B256"`), `verified` (both ends verified this peer
  // before and key continuity holds), `cache_mismatch` (a retained secret did not match:
  // compare the SAS, this may be a man in the middle).
  SOTTO_EVENT_KIND_SAS = 1,
  // ZRTP completed and media flows: `initiator`, `algorithms`, `text` (the peer's address).
  SOTTO_EVENT_KIND_SECURE = 2,
  // The video stream is keyed (ZRTP Multistream): `initiator`, `algorithms`.
  SOTTO_EVENT_KIND_VIDEO_SECURE = 3,
  // Video was asked for but will not flow; the call goes on with audio: `text` (why).
  SOTTO_EVENT_KIND_VIDEO_UNAVAILABLE = 4,
  // The video input ended (the end of a Y4M file); the call goes on.
  SOTTO_EVENT_KIND_VIDEO_INPUT_ENDED = 5,
  // Periodic statistics once secure: the numeric fields from `elapsed_ms` on.
  SOTTO_EVENT_KIND_STATS = 6,
  // The call is over; the last event: `end_reason`, `text` (the reason for people).
  SOTTO_EVENT_KIND_ENDED = 7,
  // An event this version of the C interface does not describe; skip it.
  SOTTO_EVENT_KIND_OTHER = 8,
  // A call set up by offer and answer found its path to the peer (through both NATs, if
  // any) and starts ZRTP on it: `text` (the peer's address as this end reaches it, its
  // NAT's when it is behind one). Comes again when the call moves to another path.
  SOTTO_EVENT_KIND_CONNECTED = 9,
  // A ZRTP Hello came that does not match the `a=zrtp-hash` of the peer's offer or
  // answer: someone between the two ends may be trying to intercept the call. The Hello
  // was refused; the call goes on only if the real peer's Hello follows. `text` (where it
  // came from).
  SOTTO_EVENT_KIND_HELLO_HASH_MISMATCH = 10,
  // Nothing has arrived from the peer for 3 s in a secure call: a network may have changed
  // under it. A call from `sotto_call_prepare` can move to a new path
  // (`sotto_call_restart_path`); otherwise it ends by itself if nothing comes. Once per quiet
  // spell; no fields.
  SOTTO_EVENT_KIND_PEER_QUIET = 11,
} sotto_event_kind;

// Why a call ended.
typedef enum sotto_end_reason {
  // Not ended (an event of another kind).
  SOTTO_END_REASON_NONE = 0,
  // This end hung up (`sotto_call_hang_up`).
  SOTTO_END_REASON_HUNG_UP = 1,
  // The configured duration passed after the call became secure.
  SOTTO_END_REASON_DURATION_REACHED = 2,
  // The peer hung up.
  SOTTO_END_REASON_PEER_HUNG_UP = 3,
  // The peer sent nothing for the peer timeout (10 s): it vanished.
  SOTTO_END_REASON_PEER_GONE = 4,
  // ZRTP did not complete: no answer in time, or the peer refused or misbehaved.
  SOTTO_END_REASON_HANDSHAKE_FAILED = 5,
  // Something on this side failed (the socket, the audio input or output), or an end this
  // version of the C interface does not describe.
  SOTTO_END_REASON_FAILED = 6,
  // A call set up by offer and answer found no network path to the peer, or lost it (the
  // peer stopped answering consent checks); a relay may be needed.
  SOTTO_END_REASON_NO_PATH = 7,
} sotto_end_reason;

// A running call, from `sotto_call_start`; opaque to C.
typedef struct sotto_call sotto_call;

// The settings of one call, from `sotto_config_new`; opaque to C.
typedef struct sotto_config sotto_config;

// A call being set up by offer and answer, from `sotto_call_prepare`; opaque to C.
typedef struct sotto_prepared sotto_prepared;

// One event of a call, filled by `sotto_call_next_event`. Which fields mean something
// depends on `kind`; the others are 0 (or empty strings). Every text field is NUL-terminated.
typedef struct sotto_event {
  // What happened.
  enum sotto_event_kind kind;
  // `SAS`: the Short Authentication String (4 characters, or two words joined by ':').
  char sas[SOTTO_SAS_CAPACITY];
  // `SAS`: 1 when both ends verified this peer's SAS before and key continuity holds.
  int verified;
  // `SAS`: 1 when a retained secret did not match: compare the SAS.
  int cache_mismatch;
  // `SECURE`, `VIDEO_SECURE`: 1 when this end sent the Commit, 0 when it answered it.
  int initiator;
  // `SECURE`, `VIDEO_SECURE`: the agreed algorithms, e.g. `"X255 S256 AES1 HS32 B32"`.
  char algorithms[SOTTO_ALGORITHMS_CAPACITY];
  // `SAS`: its rendering; `SECURE`, `CONNECTED`: the peer's address; `VIDEO_UNAVAILABLE`:
  // why; `ENDED`: why, for people; `HELLO_HASH_MISMATCH`: where the Hello came from.
  char text[SOTTO_TEXT_CAPACITY];
  // `ENDED`: why the call ended.
  enum sotto_end_reason end_reason;
  // `STATS`: milliseconds since the call became secure.
  uint64_t elapsed_ms;
  // `STATS`: SRTP bits sent per second (audio, UDP payloads).
  double tx_bitrate_bps;
  // `STATS`: SRTP bits received per second (audio, UDP payloads).
  double rx_bitrate_bps;
  // `STATS`: audio packets sent.
  uint64_t packets_sent;
  // `STATS`: audio packets received and accepted.
  uint64_t packets_received;
  // `STATS`: share of the peer's audio packets lost in the last interval, in %.
  double loss_percent;
  // `STATS`: interarrival jitter of the peer's audio, in ms.
  double jitter_ms;
  // `STATS`: how long the last played frame waited in the jitter buffer, in ms.
  double jitter_buffer_ms;
  // `STATS`: round-trip time in ms, or -1 until the peer's first report arrives.
  double rtt_ms;
  // `STATS`: share of played audio frames that were concealed, in %.
  double concealed_percent;
  // `STATS`: datagrams dropped after secure (failed authentication, replays, garbage).
  uint64_t srtp_rejected;
} sotto_event;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// Creates the settings of a call: bind to `bind` (`"0.0.0.0:0"` picks a free port), call
// `peer_or_null` (`"HOST:PORT"`) or, when it is NULL, listen for the first peer, and keep this
// end's ZRTP identity and the peers' retained secrets in the SQLite file `cache_path`
// (created if missing; two ends of one call need different files).
//
// The defaults are those of the engine: no audio in or out, no video, no duration limit.
// Returns NULL on failure (NULL or non-UTF-8 strings, an address that does not resolve, a
// peer on port 0); `sotto_last_error` says why. Free the result with `sotto_config_free`,
// or hand it to `sotto_call_start`, which takes it over.
//
// # Safety
// Each string is NULL or NUL-terminated.
struct sotto_config *sotto_config_new(const char *bind,
                                      const char *peer_or_null,
                                      const char *cache_path);

// Sets where the call's audio comes from and goes. `input`: `"default"` (the capture
// device), `"none"` (silence), `"tone"` (a synthetic tone) or a WAV file to play;
// `output`: `"default"` (the playback device), `"none"` or a WAV file to write. A NULL spec
// leaves that side as it was. On an invalid spec nothing changes.
//
// # Safety
// `config` is NULL or a live `sotto_config`; each string is NULL or NUL-terminated.
enum sotto_status sotto_config_set_audio(struct sotto_config *config,
                                         const char *input,
                                         const char *output);

// Sets the call's video. `input`: `"none"`, `"pattern"` (a moving test picture),
// `"camera"`, `"camera:N"` or a Y4M file to send; `output`: `"none"` or a Y4M file to write.
// Video is on when either is not `"none"`; a peer without video leaves it an audio call. A
// NULL spec leaves that side as it was. On an invalid spec nothing changes.
//
// # Safety
// `config` is NULL or a live `sotto_config`; each string is NULL or NUL-terminated.
enum sotto_status sotto_config_set_video(struct sotto_config *config,
                                         const char *input,
                                         const char *output);

// Hangs the call up `duration_ms` milliseconds after it becomes secure; 0 (the default) runs
// it until either end hangs up.
//
// # Safety
// `config` is NULL or a live `sotto_config`.
enum sotto_status sotto_config_set_duration_ms(struct sotto_config *config, uint32_t duration_ms);

// Frees settings that were not handed to `sotto_call_start`. NULL is ignored.
//
// # Safety
// `config` is NULL or a live `sotto_config`, not used again afterwards.
void sotto_config_free(struct sotto_config *config);

// Starts a call with `config`, which it takes over (freed here, whether the start succeeds or
// not: do not use or free it afterwards). Binds the socket, opens the ZID cache and the audio
// and video, starts the call's threads and returns at once: a caller starts ZRTP immediately,
// a listener waits for its peer. Returns NULL on failure (`sotto_last_error` says why: the
// port in use, the cache unreadable, a device or file missing, ...).
//
// # Safety
// `config` is NULL or a live `sotto_config`, not used again afterwards.
struct sotto_call *sotto_call_start(struct sotto_config *config);

// The local UDP port of the call's socket (the one picked when asked for port 0): what a
// listener tells its peer to call. 0 for a NULL call.
//
// # Safety
// `call` is NULL or a live `sotto_call`.
uint16_t sotto_call_local_port(const struct sotto_call *call);

// Waits up to `timeout_ms` milliseconds for the call's next event and writes it to `*out`.
// Returns `SOTTO_STATUS_OK` when an event was written, `SOTTO_STATUS_NO_EVENT` when none came
// in time (or the call has ended and every event was taken), or a negative error. The last
// event of every call is `SOTTO_EVENT_KIND_ENDED`.
//
// May be called from any thread, also while another thread calls `sotto_call_hang_up` or
// `sotto_call_set_sas_verified`.
//
// # Safety
// `call` is NULL or a live `sotto_call`; `out` is NULL or points to writable memory for one
// `sotto_event`.
enum sotto_status sotto_call_next_event(const struct sotto_call *call,
                                        uint32_t timeout_ms,
                                        struct sotto_event *out);

// Marks the peer's SAS verified (`verified` not 0) or not in the ZID cache, after the two
// people compared it. Before the call is secure the choice is kept and applied once it is.
//
// # Safety
// `call` is NULL or a live `sotto_call`.
enum sotto_status sotto_call_set_sas_verified(const struct sotto_call *call, int verified);

// Mutes the microphone (`muted` not 0) or unmutes it, from the next audio frame on: while
// muted the call sends silence in place of its audio input (with DTX, a comfort-noise
// packet every 400 ms), so nothing said reaches the peer. Video is unaffected.
//
// # Safety
// `call` is NULL or a live `sotto_call`.
enum sotto_status sotto_call_set_muted(const struct sotto_call *call, int muted);

// Turns the call's video input off (`muted` not 0: a black picture a second is sent in its
// place) or back on, from the next picture on. Audio is unaffected; a call without video
// ignores it.
//
// # Safety
// `call` is NULL or a live `sotto_call`.
enum sotto_status sotto_call_set_video_muted(const struct sotto_call *call, int muted);

// Ends the call: its threads stop, its output is finalised, and an event of kind
// `SOTTO_EVENT_KIND_ENDED` with `SOTTO_END_REASON_HUNG_UP` follows (unless it had already
// ended). Returns at once; `sotto_call_wait_and_free` waits for the end.
//
// # Safety
// `call` is NULL or a live `sotto_call`.
enum sotto_status sotto_call_hang_up(const struct sotto_call *call);

// Waits until the call has ended and every thread has stopped, frees it, and returns why it
// ended: a `sotto_end_reason` (positive), or a negative `sotto_status` for a NULL call. Does
// not hang up: call `sotto_call_hang_up` first to end the call now. No other function may be
// running on this call, or be called on it afterwards.
//
// # Safety
// `call` is NULL or a live `sotto_call`, not used again afterwards.
int sotto_call_wait_and_free(struct sotto_call *call);

// Whether a call that ended for `reason` (a `sotto_end_reason`, as `sotto_call_wait_and_free`
// returns it) ended well: 1 when hung up by either end or after its duration, 0 when the
// peer vanished, the handshake failed, something failed locally, or `reason` is no end
// reason.
int sotto_end_reason_ended_well(int reason);

// The message of the last failure on this thread (lower case, saying what to do), or an empty
// string if nothing failed yet. Never NULL. The pointer is valid until the next `sotto_*`
// call on this thread; copy the text to keep it.
const char *sotto_last_error(void);

// Sets how long `sotto_call_prepare` waits for its STUN servers (`gather_ms`, 3000 unless
// set) and how long a call set up by offer and answer looks for a path to the peer before it
// ends with `SOTTO_END_REASON_NO_PATH` (`connect_ms`, 10000 unless set). 0 leaves a value as
// it was. Calls started with `sotto_call_start` do neither and ignore these.
//
// # Safety
// `config` is NULL or a live `sotto_config`.
enum sotto_status sotto_config_set_path_timeouts(struct sotto_config *config,
                                                 uint32_t gather_ms,
                                                 uint32_t connect_ms);

// Prepares a call set up by offer and answer (`sotto_prepared_offer` and then
// `sotto_prepared_accept` on one side, `sotto_prepared_answer` on the other): binds the
// config's address, opens its ZID cache and gathers the addresses the peer may reach this
// end at. `stun_servers` is NULL (host addresses only, enough on one network) or a
// comma-separated list of `IP:PORT` of STUN servers, which tell the address a NAT shows the
// internet. Waits for them up to 3 s; one that does not answer is no error, see
// `sotto_prepared_stun_failure`. The config's peer address is not used: the offer and the
// answer find the path; a call that finds none within 10 s ends with `SOTTO_END_REASON_NO_PATH`
// (both times can be changed, `sotto_config_set_path_timeouts`).
//
// Takes `config` over, like `sotto_call_start` (freed here whether this succeeds or not: do
// not use or free it afterwards). Returns NULL on failure (`sotto_last_error` says why: an
// unreadable STUN list, the port in use, the cache unreadable, ...). Free the result with
// `sotto_prepared_free` unless an answer or accept takes it over.
//
// # Safety
// `config` is NULL or a live `sotto_config`, not used again afterwards; `stun_servers` is
// NULL or NUL-terminated.
struct sotto_prepared *sotto_call_prepare(struct sotto_config *config, const char *stun_servers);

// The local UDP port of the prepared call's socket (the one picked when asked for port 0).
// 0 for a NULL or used-up prepared call.
//
// # Safety
// `prepared` is NULL or a live `sotto_prepared`.
uint16_t sotto_prepared_local_port(const struct sotto_prepared *prepared);

// Writes the offer, one line of text (ASCII, starting `sotto1:offer:`) for the application
// to carry to the peer, and a NUL into `buf`, which holds `len` bytes. `*needed` (unless
// `needed` is NULL) gets the bytes the line needs with its NUL, whether it fits or not; a
// buffer of `SOTTO_LINE_CAPACITY` bytes always suffices. The same prepared call writes the
// same offer every time.
//
// Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_BUFFER_TOO_SMALL` (nothing but an empty string
// was written; ask again with `*needed` bytes; `buf` NULL with `len` 0 asks only for the
// size), `SOTTO_STATUS_USED_UP`, or another negative error.
//
// # Safety
// `prepared` is NULL or a live `sotto_prepared`; `buf` is NULL or points to `len` writable
// bytes; `needed` is NULL or points to a writable `size_t`.
enum sotto_status sotto_prepared_offer(const struct sotto_prepared *prepared,
                                       char *buf,
                                       size_t len,
                                       size_t *needed);

// How many STUN servers gave no address (each is reported by
// `sotto_prepared_stun_failure`). 0 for a NULL or used-up prepared call.
//
// # Safety
// `prepared` is NULL or a live `sotto_prepared`.
size_t sotto_prepared_stun_failure_count(const struct sotto_prepared *prepared);

// Writes why STUN server number `index` (from 0, below
// `sotto_prepared_stun_failure_count`) gave no address, for the user (lower case, naming the
// server and what to check), and a NUL into `buf`, which holds `len` bytes; `*needed` as for
// `sotto_prepared_offer`, with the same return values, and `SOTTO_STATUS_INVALID_ARGUMENT`
// for an index out of range.
//
// # Safety
// As `sotto_prepared_offer`.
enum sotto_status sotto_prepared_stun_failure(const struct sotto_prepared *prepared,
                                              size_t index,
                                              char *buf,
                                              size_t len,
                                              size_t *needed);

// Answers the peer's offer line `offer` (white space in it, such as a chat's line wrap, is
// ignored): starts the call, which first finds a path to the peer and then runs ZRTP on it,
// and writes the answer line (starting `sotto1:answer:`) for the application to carry back,
// and a NUL, into `answer_buf`, which holds `len` bytes.
//
// The answer's length is known only once the call has started, so `len` must be at least
// `SOTTO_LINE_CAPACITY` (checked first: a smaller buffer fails with nothing started and the
// prepared call still usable). `*needed` (unless `needed` is NULL) gets the bytes the answer
// needed with its NUL on success, and `SOTTO_LINE_CAPACITY` when the buffer was too small.
//
// Returns the call, having taken `prepared` over (freed: do not use or free it afterwards).
// Returns NULL on failure (`sotto_last_error` says why), `prepared` remaining the caller's:
// still usable after a NULL or non-UTF-8 argument, a small buffer or a line that is not an
// offer (damaged, cut off, an answer), used up after a later failure (an offer this end
// cannot answer, a call that cannot start); free it with `sotto_prepared_free` either way.
//
// # Safety
// `prepared` is NULL or a live `sotto_prepared` that no other thread uses meanwhile; `offer`
// is NULL or NUL-terminated; `answer_buf` is NULL or points to `len` writable bytes;
// `needed` is NULL or points to a writable `size_t`.
struct sotto_call *sotto_prepared_answer(struct sotto_prepared *prepared,
                                         const char *offer,
                                         char *answer_buf,
                                         size_t len,
                                         size_t *needed);

// Takes the peer's answer line `answer` to this end's offer (white space in it is ignored)
// and starts the call: it first finds a path to the peer, then runs ZRTP on it.
//
// Returns the call, having taken `prepared` over (freed: do not use or free it afterwards).
// Returns NULL on failure (`sotto_last_error` says why), `prepared` remaining the caller's:
// still usable after a NULL or non-UTF-8 argument or a line that is not an answer, used up
// after a later failure (an answer that does not fit the offer, a call that cannot start);
// free it with `sotto_prepared_free` either way.
//
// # Safety
// `prepared` is NULL or a live `sotto_prepared` that no other thread uses meanwhile;
// `answer` is NULL or NUL-terminated.
struct sotto_call *sotto_prepared_accept(struct sotto_prepared *prepared, const char *answer);

// Frees a prepared call that no answer or accept took over (closing its socket), used up or
// not. NULL is ignored.
//
// # Safety
// `prepared` is NULL or a live `sotto_prepared`, not used again afterwards.
void sotto_prepared_free(struct sotto_prepared *prepared);

// Starts moving the call to a new network path, for when this end's network changed and the
// peer can no longer be reached: gathers this end's addresses again (as `sotto_call_prepare`
// did, asking its STUN servers, so this may block up to 3 s) and writes a restart offer line
// (starting `sotto1:offer:`) for the application to carry to the peer, and a NUL, into
// `buf`, which holds `len` bytes. The peer passes it to `sotto_call_answer_path_restart`;
// its answer goes to `sotto_call_accept_path_restart`. The call goes on meanwhile, with the
// same keys and SAS; a `SOTTO_EVENT_KIND_CONNECTED` event reports the new path once found. A
// new restart offer replaces one still waiting for its answer.
//
// Only for a call set up by offer and answer (`sotto_prepared_answer`,
// `sotto_prepared_accept`). Every restart makes a new offer, so `len` must be at least
// `SOTTO_LINE_CAPACITY` (checked first: a smaller buffer fails with nothing gathered and no
// restart begun). `*needed` (unless `needed` is NULL) gets the bytes the line needed with
// its NUL on success, and `SOTTO_LINE_CAPACITY` when the buffer was too small.
//
// Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_BUFFER_TOO_SMALL`,
// `SOTTO_STATUS_INVALID_ARGUMENT` (a call from `sotto_call_start`, or one that has ended),
// `SOTTO_STATUS_START_FAILED` (gathering failed) or another negative error;
// `sotto_last_error` says why. May be called from any thread, also while another thread waits
// in `sotto_call_next_event`.
//
// # Safety
// `call` is NULL or a live `sotto_call`; `buf` is NULL or points to `len` writable bytes;
// `needed` is NULL or points to a writable `size_t`.
enum sotto_status sotto_call_restart_path(const struct sotto_call *call,
                                          char *buf,
                                          size_t len,
                                          size_t *needed);

// Answers the peer's restart offer line `offer` (from its `sotto_call_restart_path`; white
// space in it is ignored): gathers this end's addresses again (this may block up to 3 s),
// starts checking the new path and writes the answer line (starting `sotto1:answer:`) for
// the application to carry back, and a NUL, into `answer_buf`, which holds `len` bytes. The
// call goes on meanwhile; a `SOTTO_EVENT_KIND_CONNECTED` event reports the new path.
//
// The same buffer rule as `sotto_call_restart_path`: `len` must be at least
// `SOTTO_LINE_CAPACITY` (checked first: a smaller buffer fails with nothing gathered and the
// offer still to answer), and `*needed` likewise.
// Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_BUFFER_TOO_SMALL`,
// `SOTTO_STATUS_INVALID_ARGUMENT` (a line that is not a restart offer, or one this call
// cannot answer; a call from `sotto_call_start`, or one that has ended; nothing changed
// then), `SOTTO_STATUS_START_FAILED` or another negative error; `sotto_last_error` says why.
//
// # Safety
// `call` is NULL or a live `sotto_call`; `offer` is NULL or NUL-terminated; `answer_buf` is
// NULL or points to `len` writable bytes; `needed` is NULL or points to a writable `size_t`.
enum sotto_status sotto_call_answer_path_restart(const struct sotto_call *call,
                                                 const char *offer,
                                                 char *answer_buf,
                                                 size_t len,
                                                 size_t *needed);

// Takes the peer's answer line `answer` to this end's latest restart offer (white space in it
// is ignored) and starts checking the new path; a `SOTTO_EVENT_KIND_CONNECTED` event reports
// it once found. Returns `SOTTO_STATUS_OK`, `SOTTO_STATUS_INVALID_ARGUMENT` (a line that is
// not an answer or does not fit the restart offer, which then keeps waiting for the right
// one; no restart offer waiting; a call from `sotto_call_start`, or one that has ended) or
// another negative error; `sotto_last_error` says why.
//
// # Safety
// `call` is NULL or a live `sotto_call`; `answer` is NULL or NUL-terminated.
enum sotto_status sotto_call_accept_path_restart(const struct sotto_call *call, const char *answer);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SOTTO_H */
