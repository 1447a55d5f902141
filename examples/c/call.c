/* Places (or answers) one secure call through sotto's C interface and reports it.
 *
 *   call HOST:PORT       [--cache FILE] [--audio-in SPEC] [--audio-out SPEC] [--duration-ms N]
 *   call --listen PORT   [same options]
 *
 * Prints "sas <SAS>" to compare with the peer, "secure <peer> <algorithms>", one "stats" line
 * a second, and "ended <reason>". Exits 0 when the call ended well (hung up by either end or
 * after its duration), 1 when it did not, 2 when it could not start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sotto.h"

static int usage(void) {
    fprintf(stderr,
            "usage: call (HOST:PORT | --listen PORT) [--cache FILE] [--audio-in SPEC]\n"
            "            [--audio-out SPEC] [--duration-ms N]\n"
            "  audio specs: default, none, tone or FILE.wav (default: tone in, none out)\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *peer = NULL, *listen_port = NULL, *cache = "sotto-zid-cache.sqlite";
    const char *audio_in = "tone", *audio_out = "none";
    unsigned long duration_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (arg[0] != '-') {
            peer = arg;
            continue;
        }
        if (value == NULL) return usage();
        if (strcmp(arg, "--listen") == 0) listen_port = value;
        else if (strcmp(arg, "--cache") == 0) cache = value;
        else if (strcmp(arg, "--audio-in") == 0) audio_in = value;
        else if (strcmp(arg, "--audio-out") == 0) audio_out = value;
        else if (strcmp(arg, "--duration-ms") == 0) duration_ms = strtoul(value, NULL, 10);
        else return usage();
        i++;
    }
    if ((peer == NULL) == (listen_port == NULL)) return usage();

    char bind[64];
    snprintf(bind, sizeof bind, "0.0.0.0:%s", listen_port != NULL ? listen_port : "0");
    sotto_config *config = sotto_config_new(bind, peer, cache);
    if (config == NULL || sotto_config_set_audio(config, audio_in, audio_out) != SOTTO_STATUS_OK ||
        sotto_config_set_duration_ms(config, (uint32_t)duration_ms) != SOTTO_STATUS_OK) {
        fprintf(stderr, "call: %s\n", sotto_last_error());
        sotto_config_free(config);
        return 2;
    }
    /* sotto_call_start takes the config over, whether it succeeds or not. */
    sotto_call *call = sotto_call_start(config);
    if (call == NULL) {
        fprintf(stderr, "call: %s\n", sotto_last_error());
        return 2;
    }
    if (listen_port != NULL) printf("listening on port %u\n", (unsigned)sotto_call_local_port(call));
    fflush(stdout);

    sotto_event event;
    for (;;) {
        sotto_status status = sotto_call_next_event(call, 1000, &event);
        if (status == SOTTO_STATUS_NO_EVENT) continue;
        if (status != SOTTO_STATUS_OK) {
            fprintf(stderr, "call: %s\n", sotto_last_error());
            sotto_call_hang_up(call);
            break;
        }
        if (event.kind == SOTTO_EVENT_KIND_SAS) {
            printf("sas %s%s%s\n", event.sas, event.verified ? " (verified before)" : "",
                   event.cache_mismatch ? " (cache mismatch: compare it!)" : "");
        } else if (event.kind == SOTTO_EVENT_KIND_SECURE) {
            printf("secure %s %s %s\n", event.text, event.algorithms,
                   event.initiator ? "initiator" : "responder");
        } else if (event.kind == SOTTO_EVENT_KIND_STATS) {
            printf("stats sent %llu received %llu loss %.1f%% jitter %.1f ms\n",
                   (unsigned long long)event.packets_sent,
                   (unsigned long long)event.packets_received, event.loss_percent,
                   event.jitter_ms);
        } else if (event.kind == SOTTO_EVENT_KIND_ENDED) {
            printf("ended %s\n", event.text);
            fflush(stdout);
            break;
        }
        fflush(stdout);
    }
    int reason = sotto_call_wait_and_free(call);
    return sotto_end_reason_ended_well(reason) ? 0 : 1;
}
