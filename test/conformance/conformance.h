/*
 * conformance.h: what the conformance program's files share.
 */
#ifndef CONFORMANCE_H
#define CONFORMANCE_H

#include "engineio/engineio.h"
#include "socketio/socketio.h"

extern int print_events;                /* --events */
extern int cf_server_port;              /* the port listened on */
extern unsigned cf_requests_timeout_ms; /* --requests-timeout (the cluster's requests, serverSideEmit acks) */

/* conformance.c: the attachments of received arguments into bufs (room for SIO_MAX_ATTACHMENTS), how many. */
size_t cf_args_buffers(const sio_args *args, sio_attachment_ref *bufs);

/* conformance_rooms.c */
void cf_print_room_events(sio_namespace *nsp);  /* --events: the sio-room lines of nsp */
void cf_listen_server_side(sio_namespace *nsp); /* the "__sse__" server-side events of nsp */
void cf_room_commands_on(sio_socket *s);        /* the rooms, broadcasting and cluster test commands */

#endif
