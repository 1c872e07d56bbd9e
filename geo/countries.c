/* geo/countries.c — the continent of each ISO 3166-1 country code, for GeoIP databases
 * whose records carry a country but no continent (the flat layout). Follows MaxMind's
 * assignments (Russia in Europe; Turkey, Cyprus and the Caucasus in Asia). Pure. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "geo/geo.h"

/* "CCxx": country CC on continent xx; sorted by country for bsearch. */
static const char countries[][5] = {
    "ADEU", "AEAS", "AFAS", "AGNA", "AINA", "ALEU", "AMAS", "AOAF", "AQAN", "ARSA", "ASOC", "ATEU",
    "AUOC", "AWNA", "AXEU", "AZAS", "BAEU", "BBNA", "BDAS", "BEEU", "BFAF", "BGEU", "BHAS", "BIAF",
    "BJAF", "BLNA", "BMNA", "BNAS", "BOSA", "BQNA", "BRSA", "BSNA", "BTAS", "BVAN", "BWAF", "BYEU",
    "BZNA", "CANA", "CCAS", "CDAF", "CFAF", "CGAF", "CHEU", "CIAF", "CKOC", "CLSA", "CMAF", "CNAS",
    "COSA", "CRNA", "CUNA", "CVAF", "CWNA", "CXAS", "CYAS", "CZEU", "DEEU", "DJAF", "DKEU", "DMNA",
    "DONA", "DZAF", "ECSA", "EEEU", "EGAF", "EHAF", "ERAF", "ESEU", "ETAF", "FIEU", "FJOC", "FKSA",
    "FMOC", "FOEU", "FREU", "GAAF", "GBEU", "GDNA", "GEAS", "GFSA", "GGEU", "GHAF", "GIEU", "GLNA",
    "GMAF", "GNAF", "GPNA", "GQAF", "GREU", "GSAN", "GTNA", "GUOC", "GWAF", "GYSA", "HKAS", "HMAN",
    "HNNA", "HREU", "HTNA", "HUEU", "IDAS", "IEEU", "ILAS", "IMEU", "INAS", "IOAS", "IQAS", "IRAS",
    "ISEU", "ITEU", "JEEU", "JMNA", "JOAS", "JPAS", "KEAF", "KGAS", "KHAS", "KIOC", "KMAF", "KNNA",
    "KPAS", "KRAS", "KWAS", "KYNA", "KZAS", "LAAS", "LBAS", "LCNA", "LIEU", "LKAS", "LRAF", "LSAF",
    "LTEU", "LUEU", "LVEU", "LYAF", "MAAF", "MCEU", "MDEU", "MEEU", "MFNA", "MGAF", "MHOC", "MKEU",
    "MLAF", "MMAS", "MNAS", "MOAS", "MPOC", "MQNA", "MRAF", "MSNA", "MTEU", "MUAF", "MVAS", "MWAF",
    "MXNA", "MYAS", "MZAF", "NAAF", "NCOC", "NEAF", "NFOC", "NGAF", "NINA", "NLEU", "NOEU", "NPAS",
    "NROC", "NUOC", "NZOC", "OMAS", "PANA", "PESA", "PFOC", "PGOC", "PHAS", "PKAS", "PLEU", "PMNA",
    "PNOC", "PRNA", "PSAS", "PTEU", "PWOC", "PYSA", "QAAS", "REAF", "ROEU", "RSEU", "RUEU", "RWAF",
    "SAAS", "SBOC", "SCAF", "SDAF", "SEEU", "SGAS", "SHAF", "SIEU", "SJEU", "SKEU", "SLAF", "SMEU",
    "SNAF", "SOAF", "SRSA", "SSAF", "STAF", "SVNA", "SXNA", "SYAS", "SZAF", "TCNA", "TDAF", "TFAN",
    "TGAF", "THAS", "TJAS", "TKOC", "TLAS", "TMAS", "TNAF", "TOOC", "TRAS", "TTNA", "TVOC", "TWAS",
    "TZAF", "UAEU", "UGAF", "UMOC", "USNA", "UYSA", "UZAS", "VAEU", "VCNA", "VESA", "VGNA", "VINA",
    "VNAS", "VUOC", "WFOC", "WSOC", "XKEU", "YEAS", "YTAF", "ZAAF", "ZMAF", "ZWAF",
};

static int cmp(const void *key, const void *entry)
{
    return strncmp(key, entry, 2);
}

const char *geo_continent_of(const char *country)
{
    if (!country || strlen(country) != 2)
        return NULL;
    const char *e = bsearch(country, countries, sizeof countries / sizeof countries[0],
                            sizeof countries[0], cmp);
    return e ? e + 2 : NULL;
}
