/* nat-check agrees with every shipped model's declaration (the routers
 * that map ports on request too, symmetric-upnp and cgnat-pcp: the
 * protocols that grant a mapping are those each declares), and with the
 * IPv6 side of the lab's dual-stack test models (firewall, NPTv6, NAT66:
 * measured over IPv6 by the same STUN probe and server). */
#include "lab.h"

#include "natcheck/natcheck.h"

static struct natcheck_result results[64];
static char names[64][NAT_MODEL_NAME_MAX];
static char paths[64][PATH_MAX];
static int n_models;

/* The shipped models (the IPv6 ones among them), as names. */
static int list_models(void)
{
	int n = nat_model_list(names, 64);

	for (int i = 0; i < n; i++)
		snprintf(paths[i], sizeof(paths[i]), "%s", names[i]);
	return n;
}

static int check_all(void **state)
{
	char *models[64];
	int portmaps = 0;

	(void)state;
	n_models = list_models();
	for (int i = 0; i < n_models; i++) {
		models[i] = paths[i];
		portmaps += !strcmp(names[i], "symmetric-upnp") || !strcmp(names[i], "cgnat-pcp");
	}
	natcheck_all(models, n_models, 3, false, results);
	return n_models >= 15 && portmaps == 2 ? 0 : -1;
}

static void nat_check_matches(void **state)
{
	const struct natcheck_result *r = *state;

	if (r->error)
		fail_msg("%s: the lab failed: %s", r->model, r->detail);
	if (!r->match)
		fail_msg("%s: %s", r->model, r->detail);
	assert_true(r->measured.udp == (!r->declared.udp_blocked && !r->declared.no_ipv4));
	assert_int_equal(r->portmap.offered, r->declared.portmap);
	if (r->declared.portmap)
		assert_true(r->portmap.lifetime > 0 && r->portmap.ext_port > 0);
	if (r->declared.ipv6) {
		assert_true(r->measured6.udp && r->measured6.local.v6);
		assert_int_equal(r->measured6.translated, r->declared.ipv6 != NAT_IPV6_FIREWALL);
	}
}

int main(void)
{
	static struct CMUnitTest tests[64];
	static char test_names[64][96];
	int n = list_models();

	for (int i = 0; i < n; i++) {
		snprintf(test_names[i], sizeof(test_names[i]), "nat_check_measures_%s_as_declared", names[i]);
		tests[i] = (struct CMUnitTest){ test_names[i], nat_check_matches, NULL, NULL, &results[i] };
	}
	return _cmocka_run_group_tests("lab_natcheck", tests, (size_t)n, check_all, NULL);
}
