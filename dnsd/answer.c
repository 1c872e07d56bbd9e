/* dnsd/answer.c — what goes into each section of an IN-class answer (see answer.h). */
#include "config.h"

#include <string.h>

#include "common/dname.h"
#include "dnsd/answer.h"

#define TYPE_A 1
#define TYPE_NS 2
#define TYPE_CNAME 5
#define TYPE_SOA 6
#define TYPE_DNAME 39
#define TYPE_AAAA 28
#define TYPE_RRSIG 46
#define TYPE_NSEC 47
#define TYPE_SVCB 64
#define TYPE_HTTPS 65
#define TYPE_ANY 255
/* CNAME chains (DNAME substitutions count) longer than this inside one zone are a loop
 * or a mistake; we answer with what we have (as Knot and NSD do). */
#define CNAME_CHAIN_MAX 8

/* Fails the answer as truncated when an answer/authority RRset does not fit. */
static void put_rrset(struct msg *m, enum msg_section sec, const uint8_t *owner, size_t len,
                      const struct snap_rrset *rs, uint32_t ttl, struct answer_result *r)
{
    if (r->truncated)
        return;
    if (msg_rrset(m, sec, owner, len, rs, ttl) != 0)
        r->truncated = true;
}

/* Whether node t is cut or below it: cut's name ends t's name at a label boundary. */
static bool at_or_below(const struct snap_node *t, const struct snap_node *cut)
{
    for (size_t p = 0; p + cut->name_len <= t->name_len; p += t->name[p] + 1U)
        if (p + cut->name_len == t->name_len)
            return memcmp(t->name + p, cut->name, cut->name_len) == 0;
    return false;
}

/* A and AAAA of the targets of an NS/MX/SRV RRset, each target once, from zone (NULL:
 * any zone we serve, for the glue of a child zone we also serve). What does not fit is
 * left out without truncation (RFC 2181 §9), except in a referral from cut (else NULL)
 * for name servers at or below it: without their glue it leads nowhere (RFC 9471). */
static void put_additional(struct msg *m, const struct snap_rrset *rs, const struct snap_zone *zone,
                           const struct snap_node *cut, struct answer_result *r)
{
    /* RFC 9460 §4.1: an SVCB/HTTPS target's own SVCB/HTTPS records too (as Knot) */
    bool svcb = rs->type == TYPE_SVCB || rs->type == TYPE_HTTPS;
    const uint16_t types[] = {TYPE_A, TYPE_AAAA, svcb ? rs->type : 0};
    if (!rs->targets)
        return;
    for (uint16_t i = 0; i < rs->count; i++) {
        const struct snap_node *t = rs->targets[i];
        bool seen = false;
        if (!t || (zone && t->zone != zone))
            continue;
        for (uint16_t k = 0; k < i && !seen; k++)
            seen = rs->targets[k] == t;
        for (size_t k = 0; k < 3 && !seen && types[k]; k++) {
            const struct snap_rrset *glue = snap_node_rrset(t, types[k]);
            if (glue && glue != rs &&
                msg_rrset(m, MSG_ADDITIONAL, t->name, t->name_len, glue, glue->ttl_s) && cut &&
                at_or_below(t, cut))
                r->truncated = true;
        }
    }
}

static void put_soa(struct msg *m, const struct snap_zone *z, struct answer_result *r)
{
    put_rrset(m, MSG_AUTHORITY, z->apex->name, z->apex->name_len, z->soa, z->neg_ttl_s, r);
}

static void referral(struct msg *m, const struct snap_node *cut, struct answer_result *r)
{
    const struct snap_rrset *ns = snap_node_rrset(cut, TYPE_NS);
    r->aa = false;
    put_rrset(m, MSG_AUTHORITY, cut->name, cut->name_len, ns, ns->ttl_s, r);
    if (!r->truncated) /* a parent's side of a child we serve: the child has the glue */
        put_additional(m, ns, (cut->flags & SNAP_NODE_PARENT_SIDE) ? NULL : cut->zone, cut, r);
}

/* RFC 8482 §4.1: one RRset stands for the node; RRSIG and NSEC are never it. */
static const struct snap_rrset *any_rrset(const struct snap_node *n)
{
    for (uint16_t i = 0; i < n->nrrsets; i++)
        if (n->rrsets[i].type != TYPE_RRSIG && n->rrsets[i].type != TYPE_NSEC)
            return &n->rrsets[i];
    return NULL;
}

/* The target of a CNAME RRset's record, lower-cased into out. Returns its length. */
static size_t cname_target(const struct snap_rrset *cname, uint8_t *out)
{
    uint16_t rdlen;
    memcpy(&rdlen, cname->data, 2);
    memcpy(out, cname->data + 2, rdlen);
    dname_lower(out);
    return rdlen;
}

/* RFC 6672 §3.2: owner (owner_len bytes, lower case) is below the DNAME of node: writes
 * the DNAME and the CNAME it synthesises (same TTL), and the CNAME's target,
 * lower-cased, into next. Returns next's length, or 0 when nothing is to follow: the
 * answer did not fit, or the substitution is too long for a name (YXDOMAIN). */
static size_t dname_redirect(struct msg *m, const uint8_t *owner, size_t owner_len,
                             const struct snap_node *node, uint8_t *next, struct answer_result *r)
{
    const struct snap_rrset *dname = snap_node_rrset(node, TYPE_DNAME);
    uint16_t rdlen;
    put_rrset(m, MSG_ANSWER, node->name, node->name_len, dname, dname->ttl_s, r);
    memcpy(&rdlen, dname->data, 2);
    size_t prefix = owner_len - node->name_len, len = prefix + rdlen;
    if (r->truncated)
        return 0;
    if (len > DNAME_WIRE_MAX) {
        r->rcode = RCODE_YXDOMAIN;
        return 0;
    }
    memcpy(next, owner, prefix);
    memcpy(next + prefix, dname->data + 2, rdlen);
    if (msg_rr_raw(m, MSG_ANSWER, owner, owner_len, TYPE_CNAME, 1, dname->ttl_s, next, len)) {
        r->truncated = true;
        return 0;
    }
    dname_lower(next);
    return len;
}

/* A managed name: the policy decides its A/AAAA answer, or its CNAME (for every type: a
 * CNAME stands alone, RFC 1034 §3.6.2); other types have no data there. Returns the
 * length of the CNAME's target, lower-cased into next, when the answer goes on there. */
static size_t put_policy(struct msg *m, const struct snap *s, const struct snap_node *node,
                         const uint8_t *owner, size_t owner_len, uint16_t qtype,
                         const struct snap_zone *zone, const struct answer_env *env, uint8_t *next,
                         struct answer_result *r)
{
    struct pol_decision d;
    struct msg_mark mark;
    bool addr_type = qtype == TYPE_A || qtype == TYPE_AAAA || qtype == TYPE_ANY;
    if (!addr_type && qtype != TYPE_CNAME && !node->policy->has_names) {
        put_soa(m, zone, r); /* never a CNAME: no data, whoever asks */
        return 0;
    }
    pol_decide(s, node->policy, qtype == TYPE_AAAA ? 6 : 4, env->client, env->sc, NULL, &d);
    if (d.scope > r->scope) /* after a CNAME of another policy: what both depend on */
        r->scope = d.scope;
    if (d.answer == POL_ANSWER_NODATA || (d.answer == POL_ANSWER_ADDRS && !addr_type)) {
        put_soa(m, zone, r);
        return 0;
    }
    msg_mark(m, &mark);
    for (uint16_t i = 0; i < d.n; i++) {
        const struct pol_endpoint *e = d.eps[i];
        uint16_t type = e->kind == POL_EP_V4   ? TYPE_A
                        : e->kind == POL_EP_V6 ? TYPE_AAAA
                                               : TYPE_CNAME;
        if (msg_rr_raw(m, MSG_ANSWER, owner, owner_len, type, 1, d.ttl_s, e->addr, e->addr_len)) {
            msg_rollback(m, &mark); /* the whole answer, or TC */
            r->truncated = true;
            return 0;
        }
    }
    if (d.answer != POL_ANSWER_CNAME || qtype == TYPE_CNAME)
        return 0;
    memcpy(next, d.eps[0]->addr, d.eps[0]->addr_len);
    dname_lower(next);
    return d.eps[0]->addr_len;
}

void answer_in(struct msg *m, const struct snap *s, uint16_t qtype, const struct answer_env *env,
               struct answer_result *r)
{
    uint8_t chain[CNAME_CHAIN_MAX][DNAME_WIRE_MAX];
    const struct snap_node *dnames[CNAME_CHAIN_MAX];
    int ndnames = 0;
    const uint8_t *owner = m->qname;
    size_t owner_len = m->qname_len;
    const struct snap_zone *zone = NULL;
    struct snap_result res;
    *r = (struct answer_result){RCODE_NOERROR, false, false, 0, NULL};

    for (int hop = 0;; hop++) {
        if (hop == 0) /* the question: its hashes are computed already */
            snap_lookup_hashed(s, owner, owner_len, m->qhash, m->qoffs, m->qlabels, qtype, &res);
        else
            snap_lookup(s, owner, owner_len, qtype, &res);
        if (hop == 0) {
            if (res.match == SNAP_REFUSED) {
                r->rcode = RCODE_REFUSED;
                return;
            }
            zone = res.zone;
            r->aa = true;
            r->match = res.node;
        } else if (res.zone != zone) {
            /* The chain leaves the zone. Into a child zone we also serve: from the
             * CNAME's zone that is a delegation (RFC 1034 §4.3.2 step 3b). */
            const struct snap_node *parent_side = res.zone ? res.zone->apex->parent_side : NULL;
            if (parent_side && parent_side->zone == zone && snap_node_rrset(parent_side, TYPE_NS)) {
                referral(m, parent_side, r);
                r->aa = true;
            }
            return;
        }
        switch (res.match) {
        case SNAP_REFUSED: return;
        case SNAP_DELEGATION:
            /* RFC 1034 §4.3.2 step 3b: a referral, also after a CNAME into a delegated
             * name (the CNAME stays authoritative) */
            referral(m, res.node, r);
            r->aa = hop > 0;
            return;
        case SNAP_NXDOMAIN:
            /* RFC 6604 §3: the RCODE describes the last name of the chain */
            r->rcode = RCODE_NXDOMAIN;
            if (hop == 0) /* rate limiting counts a zone's NXDOMAINs together */
                r->match = zone;
            put_soa(m, zone, r);
            return;
        case SNAP_DNAME:
            /* a DNAME that redirects below itself (or a loop back to one) would only
             * repeat: the answer holds it once, and the resolver asks on */
            for (int k = 0; k < ndnames; k++)
                if (dnames[k] == res.node)
                    return;
            dnames[ndnames++] = res.node;
            owner_len = dname_redirect(m, owner, owner_len, res.node, chain[hop], r);
            /* a CNAME question is answered by the synthesised CNAME itself */
            if (owner_len == 0 || qtype == TYPE_CNAME || hop == CNAME_CHAIN_MAX - 1)
                return;
            owner = chain[hop];
            break;
        case SNAP_EXACT:
        case SNAP_WILDCARD: {
            const struct snap_node *node = res.node;
            if (node->policy) {
                owner_len =
                    put_policy(m, s, node, owner, owner_len, qtype, zone, env, chain[hop], r);
                if (owner_len == 0 || hop == CNAME_CHAIN_MAX - 1)
                    return;
                owner = chain[hop];
                break;
            }
            const struct snap_rrset *rs =
                qtype == TYPE_ANY ? any_rrset(node) : snap_node_rrset(node, qtype);
            if (rs) {
                put_rrset(m, MSG_ANSWER, owner, owner_len, rs, rs->ttl_s, r);
                if (!r->truncated)
                    put_additional(m, rs, zone, NULL, r);
                return;
            }
            const struct snap_rrset *cname = snap_node_rrset(node, TYPE_CNAME);
            if (!cname) {
                put_soa(m, zone, r); /* NODATA */
                return;
            }
            put_rrset(m, MSG_ANSWER, owner, owner_len, cname, cname->ttl_s, r);
            if (r->truncated || hop == CNAME_CHAIN_MAX - 1)
                return;
            owner_len = cname_target(cname, chain[hop]);
            owner = chain[hop];
            break;
        }
        }
        if (owner_len == m->qname_len && memcmp(owner, m->qname, owner_len) == 0)
            return; /* a loop back to the question: stop after writing it once */
        for (int k = 0; k < hop; k++)
            if (memcmp(chain[k], owner, owner_len) == 0)
                return;
    }
}
