/* How a messenger embeds sotto from C: two chat clients, Alice and Bob, that know nothing of
 * each other's addresses hold a secure call. It is set up by two lines of text, an offer and
 * an answer, which each client would send over its chat; here both clients live in this one
 * program and the "chat" is a buffer. The messenger never parses the lines.
 *
 *   messenger [--bind ADDR] [--stun IP:PORT,...] [--duration-ms N] [--cache-dir DIR]
 *
 * --bind defaults to 0.0.0.0:0 (every address of this machine is offered, as a messenger
 * would); --stun also offers the address a STUN server sees, as a client behind a NAT would.
 * Alice hangs up --duration-ms (default 3000) after the call is secure. Prints each client's
 * progress ("alice: sas ...", "bob: path ... -> ...", "alice: ended ...") and exits 0 only when
 * both calls became secure with the same SAS and ended well, 1 when they did not, 2 when the
 * call could not be set up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sotto.h"

/* Longer than the 10 s a call gets to find its path plus ZRTP's own retries. */
#define GIVE_UP_AFTER_S 60

struct client {
    const char *name;
    sotto_call *call;
    char sas[SOTTO_SAS_CAPACITY];
    int secure;
    int ended;
};

static int usage(void) {
    fprintf(stderr, "usage: messenger [--bind ADDR] [--stun IP:PORT,...] [--duration-ms N]\n"
                    "                 [--cache-dir DIR]\n");
    return 2;
}

/* Settings of one client: its own ZID cache (its identity), a tone to send, nothing played. */
static sotto_config *client_config(const char *name, const char *bind, const char *cache_dir,
                                   unsigned long duration_ms) {
    char cache[4096];
    snprintf(cache, sizeof cache, "%s/sotto-messenger-%s.sqlite", cache_dir, name);
    sotto_config *config = sotto_config_new(bind, NULL, cache);
    if (config == NULL || sotto_config_set_audio(config, "tone", "none") != SOTTO_STATUS_OK ||
        sotto_config_set_duration_ms(config, (uint32_t)duration_ms) != SOTTO_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", name, sotto_last_error());
        sotto_config_free(config);
        return NULL;
    }
    return config;
}

/* Prepares a client's call and tells the user about STUN servers that did not help. */
static sotto_prepared *prepare(const char *name, sotto_config *config, const char *stun) {
    sotto_prepared *prepared = sotto_call_prepare(config, stun); /* takes config over */
    if (prepared == NULL) {
        fprintf(stderr, "%s: %s\n", name, sotto_last_error());
        return NULL;
    }
    size_t failures = sotto_prepared_stun_failure_count(prepared);
    for (size_t i = 0; i < failures; i++) {
        char reason[512];
        if (sotto_prepared_stun_failure(prepared, i, reason, sizeof reason, NULL) == SOTTO_STATUS_OK)
            printf("%s: stun: %s\n", name, reason);
    }
    printf("%s: prepared on port %u\n", name, (unsigned)sotto_prepared_local_port(prepared));
    return prepared;
}

/* Handles one event of a client's call. */
static void show(struct client *c, const sotto_event *event) {
    switch (event->kind) {
    case SOTTO_EVENT_KIND_CONNECTED:
        printf("%s: path from port %u to %s\n", c->name, (unsigned)sotto_call_local_port(c->call),
               event->text);
        break;
    case SOTTO_EVENT_KIND_HELLO_HASH_MISMATCH:
        printf("%s: WARNING: a ZRTP Hello from %s does not match the offer\n", c->name,
               event->text);
        break;
    case SOTTO_EVENT_KIND_SAS:
        snprintf(c->sas, sizeof c->sas, "%s", event->sas);
        printf("%s: sas %s%s\n", c->name, event->sas,
               event->verified ? " (verified before)" : "");
        break;
    case SOTTO_EVENT_KIND_SECURE:
        c->secure = 1;
        printf("%s: secure with %s, %s, %s\n", c->name, event->text, event->algorithms,
               event->initiator ? "initiator" : "responder");
        break;
    case SOTTO_EVENT_KIND_ENDED:
        c->ended = 1;
        printf("%s: ended %s\n", c->name, event->text);
        break;
    default:
        break;
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *bind = "0.0.0.0:0", *stun = NULL, *cache_dir = ".";
    unsigned long duration_ms = 3000;
    for (int i = 1; i < argc; i += 2) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (value == NULL) return usage();
        if (strcmp(arg, "--bind") == 0) bind = value;
        else if (strcmp(arg, "--stun") == 0) stun = value;
        else if (strcmp(arg, "--duration-ms") == 0) duration_ms = strtoul(value, NULL, 10);
        else if (strcmp(arg, "--cache-dir") == 0) cache_dir = value;
        else return usage();
    }

    /* Alice calls: she prepares the call and sends the offer on the chat. */
    sotto_config *alice_config = client_config("alice", bind, cache_dir, duration_ms);
    if (alice_config == NULL) return 2;
    sotto_prepared *alice = prepare("alice", alice_config, stun);
    if (alice == NULL) return 2;
    /* Static: a line may take SOTTO_LINE_CAPACITY (about 21 KB) bytes, too much for a stack. */
    static char offer[SOTTO_LINE_CAPACITY], answer[SOTTO_LINE_CAPACITY];
    size_t needed = 0;
    if (sotto_prepared_offer(alice, offer, sizeof offer, &needed) != SOTTO_STATUS_OK) {
        fprintf(stderr, "alice: %s\n", sotto_last_error());
        sotto_prepared_free(alice);
        return 2;
    }
    printf("alice: offer of %zu bytes sent on the chat\n", needed - 1);

    /* Bob answers the offer that came on the chat, and sends the answer back. */
    sotto_config *bob_config = client_config("bob", bind, cache_dir, 0);
    sotto_prepared *bob = bob_config != NULL ? prepare("bob", bob_config, stun) : NULL;
    if (bob == NULL) {
        sotto_prepared_free(alice);
        return 2;
    }
    struct client b = {.name = "bob"};
    b.call = sotto_prepared_answer(bob, offer, answer, sizeof answer, &needed);
    if (b.call == NULL) {
        /* On failure the prepared call is still ours to free. */
        fprintf(stderr, "bob: %s\n", sotto_last_error());
        sotto_prepared_free(bob);
        sotto_prepared_free(alice);
        return 2;
    }
    printf("bob: answer of %zu bytes sent on the chat\n", needed - 1);

    /* Alice takes the answer; both calls now find their path and run ZRTP. */
    struct client a = {.name = "alice"};
    a.call = sotto_prepared_accept(alice, answer);
    if (a.call == NULL) {
        fprintf(stderr, "alice: %s\n", sotto_last_error());
        sotto_prepared_free(alice);
        sotto_call_hang_up(b.call);
        sotto_call_wait_and_free(b.call);
        return 2;
    }
    fflush(stdout);

    /* One thread serves both clients: a short wait on each in turn. */
    struct client *clients[] = {&a, &b};
    time_t give_up = time(NULL) + GIVE_UP_AFTER_S;
    int gave_up = 0;
    while (!a.ended || !b.ended) {
        for (int i = 0; i < 2; i++) {
            struct client *c = clients[i];
            if (c->ended) continue;
            sotto_event event;
            sotto_status status = sotto_call_next_event(c->call, 20, &event);
            if (status == SOTTO_STATUS_OK) {
                show(c, &event);
            } else if (status != SOTTO_STATUS_NO_EVENT) {
                fprintf(stderr, "%s: %s\n", c->name, sotto_last_error());
                sotto_call_hang_up(c->call);
                c->ended = 1;
            }
        }
        if (!gave_up && time(NULL) > give_up) {
            fprintf(stderr, "the calls did not end within %d s; hanging up\n", GIVE_UP_AFTER_S);
            gave_up = 1;
            sotto_call_hang_up(a.call);
            sotto_call_hang_up(b.call);
        }
    }

    int alice_well = sotto_end_reason_ended_well(sotto_call_wait_and_free(a.call));
    int bob_well = sotto_end_reason_ended_well(sotto_call_wait_and_free(b.call));
    int same_sas = a.secure && b.secure && a.sas[0] != '\0' && strcmp(a.sas, b.sas) == 0;
    if (same_sas) printf("alice read %s, bob read %s\n", a.sas, b.sas);
    else if (a.secure && b.secure)
        printf("the two SAS differ (%s, %s): someone is in the middle\n", a.sas, b.sas);
    else printf("the call never became secure at both ends\n");
    return same_sas && alice_well && bob_well && !gave_up ? 0 : 1;
}
