/* Plan -> nft script text, for people (`punchlab nat show`). */
#include "plan.h"
#include "../../lib/util/text.h"

#include <arpa/inet.h>
#include <stdio.h>

static const char *field_text(enum nat_field f)
{
	switch (f) {
	case NF_UDP_SPORT: return "udp sport";
	case NF_UDP_DPORT: return "udp dport";
	case NF_IP_SADDR: return "ip saddr";
	case NF_IP_DADDR: return "ip daddr";
	case NF_CT_ORIG_SADDR: return "ct original ip saddr";
	case NF_CT_ORIG_SPORT: return "ct original proto-src";
	}
	return "?";
}

static const char *type_text(enum nat_field f)
{
	return nat_field_len(f) == 4 ? "ipv4_addr" : "inet_service";
}

static void print_key(const struct nat_key *k, FILE *out, bool types)
{
	for (int i = 0; i < k->n; i++)
		fprintf(out, "%s%s", i ? " . " : "", types ? type_text(k->f[i]) : field_text(k->f[i]));
}

static void print_flags(uint32_t flags, FILE *out)
{
	if (flags & NAT_FLAG_PERSISTENT)
		fprintf(out, " persistent");
	if (flags & NAT_FLAG_FULLY_RANDOM)
		fprintf(out, " fully-random");
}

static void print_stmt(const struct nat_plan *p, const struct nat_stmt *s, FILE *out)
{
	char a[46];
	const char *set = s->set >= 0 ? p->sets[s->set].name : "";

	switch (s->kind) {
	case NS_IIF: fprintf(out, "iifname \"%s\"", s->ifname); break;
	case NS_IIF_NOT: fprintf(out, "iifname != \"%s\"", s->ifname); break;
	case NS_OIF: fprintf(out, "oifname \"%s\"", s->ifname); break;
	case NS_OIF_NOT: fprintf(out, "oifname != \"%s\"", s->ifname); break;
	case NS_UDP: fprintf(out, "meta l4proto udp"); break;
	case NS_SADDR:
	case NS_DADDR:
		fprintf(out, "ip %s %s", s->kind == NS_SADDR ? "saddr" : "daddr", text_ipv4(s->addr, a));
		if (s->plen != 32)
			fprintf(out, "/%u", s->plen);
		break;
	case NS_CT_ORIG_SADDR:
		fprintf(out, "ct original ip saddr %s", text_ipv4(s->addr, a));
		if (s->plen != 32)
			fprintf(out, "/%u", s->plen);
		break;
	case NS_CT_ORIG_DADDR: fprintf(out, "ct original ip daddr %s", text_ipv4(s->addr, a)); break;
	case NS_CT_NEW: fprintf(out, "ct state new"); break;
	case NS_LOOKUP:
		print_key(&s->key, out, false);
		fprintf(out, " @%s", set);
		break;
	case NS_DYNSET_UPDATE:
		fprintf(out, "update @%s { ", set);
		print_key(&s->key, out, false);
		if (s->data.n) {
			fprintf(out, " : ");
			print_key(&s->data, out, false);
		}
		fprintf(out, " }");
		break;
	case NS_COUNTER: fprintf(out, "counter"); break;
	case NS_DROP: fprintf(out, "drop"); break;
	case NS_MASQUERADE:
		fprintf(out, "masquerade");
		print_flags(s->flags, out);
		break;
	case NS_SNAT:
		fprintf(out, "snat ip to %s", text_ipv4(s->addr, a));
		if (s->port_min)
			fprintf(out, ":%u-%u", s->port_min, s->port_max);
		print_flags(s->flags, out);
		break;
	case NS_SNAT_MAP:
		fprintf(out, "snat ip to %s : ", text_ipv4(s->addr, a));
		print_key(&s->key, out, false);
		fprintf(out, " map @%s", set);
		break;
	case NS_SNAT_NUMGEN:
		fprintf(out, "snat ip to %s : numgen inc mod %u offset %u", text_ipv4(s->addr, a),
			s->modulus, s->port_min);
		break;
	case NS_DNAT_MAP:
		fprintf(out, "dnat ip to ");
		print_key(&s->key, out, false);
		fprintf(out, " map @%s", set);
		break;
	case NS_SADDR6:
	case NS_DADDR6:
		fprintf(out, "ip6 %s %s/%u", s->kind == NS_SADDR6 ? "saddr" : "daddr", text_ipv6(s->addr6, a), s->plen);
		break;
	case NS_CT_REPLY: fprintf(out, "ct state established,related"); break;
	case NS_ACCEPT: fprintf(out, "accept"); break;
	case NS_SNAT_PREFIX6:
	case NS_DNAT_PREFIX6:
		fprintf(out, "%s ip6 prefix to %s/%u", s->kind == NS_SNAT_PREFIX6 ? "snat" : "dnat", text_ipv6(s->addr6, a),
			s->plen);
		break;
	}
}

static const char *prio_text(enum nat_chain c)
{
	switch (nat_chain_priority(c)) {
	case -100: return "dstnat";
	case 100: return "srcnat";
	case 110: return "srcnat + 10";
	default: return "filter";
	}
}

static const char *hook_text(enum nat_chain c)
{
	static const char *const names[] = { "prerouting", "input", "forward", "output", "postrouting" };

	return names[nat_chain_hook(c)];
}

void nat_plan_print(const struct nat_plan *p, FILE *out)
{
	fprintf(out, "# NAT model %s%s, as punchlab builds it (libnftnl over netlink)\n", p->model, p->ipv6 ? ", its IPv6 side" : "");
	for (int i = 0; i < p->n_sysctls; i++)
		fprintf(out, "# sysctl %s=%s\n", p->sysctls[i].path, p->sysctls[i].value);
	fprintf(out, "table %s %s {\n", p->ipv6 ? "ip6" : "ip", NAT_TABLE);
	for (int i = 0; i < p->n_sets; i++) {
		const struct nat_set *s = &p->sets[i];

		fprintf(out, "\t%s %s {\n\t\ttype ", s->data.n ? "map" : "set", s->name);
		print_key(&s->key, out, true);
		if (s->data.n) {
			fprintf(out, " : ");
			print_key(&s->data, out, true);
		}
		fprintf(out, "\n\t\tflags dynamic,timeout\n\t\ttimeout %us\n\t}\n", s->timeout_s);
	}
	for (int c = 0; c < NC_COUNT; c++) {
		bool any = false;

		for (int i = 0; i < p->n_rules; i++)
			any |= p->rules[i].chain == (enum nat_chain)c;
		if (!any)
			continue;
		fprintf(out, "\n\tchain %s {\n\t\ttype %s hook %s priority %s; policy accept;\n",
			nat_chain_name(c), nat_chain_type(c), hook_text(c), prio_text(c));
		for (int i = 0; i < p->n_rules; i++) {
			const struct nat_rule *r = &p->rules[i];

			if (r->chain != (enum nat_chain)c)
				continue;
			fprintf(out, "\t\t# %s\n\t\t", r->why);
			for (int j = 0; j < r->n; j++) {
				if (j)
					fputc(' ', out);
				print_stmt(p, &r->s[j], out);
			}
			fputc('\n', out);
			for (int j = 0; j < r->n; j++)
				if (r->s[j].kind == NS_SNAT_NUMGEN)
					fprintf(out, "\t\t# (not nft syntax) punchlab puts \"byteorder hton 2\" between "
						     "numgen and snat: nft passes the computed port in host byte order\n");
		}
		fprintf(out, "\t}\n");
	}
	fprintf(out, "}\n");
}
