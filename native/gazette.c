/*
** Gazette's SQLite extension, loaded into every connection (src/db/native.ts). Two things SQLite as
** better-sqlite3 builds it cannot do from JavaScript:
**
** 1. A query budget. better-sqlite3 runs statements on the event loop and has no way to stop one, and
**    its SQLite is compiled with SQLITE_OMIT_PROGRESS_CALLBACK, so the progress handler is not there
**    either. While a budget is set with gazette_budget(ms), every statement may run for ms milliseconds
**    from the moment it starts (a trace callback notes the start, and its end). A watchdog thread per
**    connection sleeps until the running statement's deadline and then calls sqlite3_interrupt(), which
**    SQLite documents as safe from another thread: the statement stops at its next row or loop with
**    SQLITE_INTERRUPT, and the event loop is free again. The clock is the statement's own: time spent
**    between statements (the event loop serving other requests, a request waiting for something else)
**    is not counted, so many requests in flight cannot use up each other's budget.
**
**      SELECT gazette_budget(250)   -- from now on, interrupt a statement that runs for 250 ms
**      SELECT gazette_budget(0)     -- no limit
**      SELECT gazette_interrupts()  -- how many statements the watchdog has interrupted
**
** 2. gazette_rank(fts, avgdl, w0, w1, ...): an FTS5 ranking function that, unlike bm25(), uses no
**    statistics of the whole index. bm25 weighs each term by how many rows contain it and each row's
**    length against the average over all rows, drafts included, so saving a draft changed the ranks,
**    order and cursors the public saw. This is bm25's formula with the average row length a constant
**    (avgdl, tokens) and no inverse document frequency: a row's score depends on the row and the query
**    only. Column weights as for bm25; lower is more relevant (the negated score), as bm25.
**
** 3. gazette_tokens(text, distinct): the tokens the search index makes of a text, as a JSON array
**    (tokenizer `porter unicode61 remove_diacritics 2`, the index's own, so `Docked` is "dock"), in
**    order, or each once when distinct is true. Triggers keep a count of articles per token with it
**    (search_terms), so a search can price its words and expand a prefix into the words it means before
**    running anything (src/articles/search-index.ts).
**
** Built by scripts/build-native.ts (`npm install` runs it) against the sqlite3ext.h that better-sqlite3
** ships, so it always matches the SQLite it is loaded into.
*/
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#define GAZETTE_NATIVE_VERSION 3
#define GAZETTE_TOKENIZER_ARGS { "unicode61", "remove_diacritics", "2" }

typedef struct Watchdog {
  sqlite3 *db;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  struct timespec deadline; /* when the running statement must have ended */
  sqlite3_int64 limitMs;    /* the budget of a statement; 0: none */
  void *running;            /* the statement the deadline is for; 0: none is timed */
  int stop;
  int idle;                 /* the thread sleeps until a budget is set (nothing to time before) */
  sqlite3_int64 interrupts;
} Watchdog;

static int pastDeadline(const Watchdog *w){
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > w->deadline.tv_sec || (now.tv_sec == w->deadline.tv_sec && now.tv_nsec >= w->deadline.tv_nsec);
}

static void addMs(struct timespec *t, sqlite3_int64 ms){
  t->tv_sec += (time_t)(ms / 1000);
  t->tv_nsec += (long)(ms % 1000) * 1000000L;
  if( t->tv_nsec>=1000000000L ){
    t->tv_sec++;
    t->tv_nsec -= 1000000000L;
  }
}

/*
** Statements start and end without waking this thread (a wake-up per statement cost a POST a third more
** CPU), and a budget set again or taken away does not wake it either unless it sleeps. While a budget is set it sleeps until the running statement's deadline, or, with none running, for
** one budget: a statement that starts meanwhile has a deadline no earlier than that, so it is never late.
*/
static void *watchdogMain(void *arg){
  Watchdog *w = (Watchdog*)arg;
  pthread_mutex_lock(&w->mu);
  while( !w->stop ){
    struct timespec until;
    if( w->limitMs==0 ){
      w->idle = 1;
      pthread_cond_wait(&w->cv, &w->mu);
      w->idle = 0;
      continue;
    }
    if( w->running!=0 ){
      until = w->deadline;
    }else{
      clock_gettime(CLOCK_MONOTONIC, &until);
      addMs(&until, w->limitMs);
    }
    pthread_cond_timedwait(&w->cv, &w->mu, &until);
    /* The deadline is always the running statement's: one that ended, or gave way to a newer, is not hit. */
    if( !w->stop && w->limitMs>0 && w->running!=0 && pastDeadline(w) ){
      sqlite3_interrupt(w->db);
      w->interrupts++;
      w->running = 0;
    }
  }
  pthread_mutex_unlock(&w->mu);
  return 0;
}

static void watchdogDestroy(void *arg){
  Watchdog *w = (Watchdog*)arg;
  pthread_mutex_lock(&w->mu);
  w->stop = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, 0);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  sqlite3_free(w);
}

/* gazette_budget(ms): from the next statement on, each may run ms milliseconds; 0 (or less): no limit. */
static void budgetFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Watchdog *w = (Watchdog*)sqlite3_user_data(ctx);
  sqlite3_int64 ms = sqlite3_value_int64(argv[0]);
  (void)argc;
  pthread_mutex_lock(&w->mu);
  w->limitMs = ms>0 ? ms : 0;
  /* Only a sleeping thread needs waking; a polling one finds the new budget on its next turn. */
  if( w->limitMs>0 && w->idle ) pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  sqlite3_result_null(ctx);
}

/*
** A statement starts (SQLITE_TRACE_STMT) or ends (SQLITE_TRACE_PROFILE, once per run, errors included).
** A start times the statement from now; its end stops the clock. Not timed: the budget's own statements,
** a trigger's (SQLite reports them as starts whose text is a `--` comment; they are part of the statement
** that fired them) and ROLLBACK (a transaction whose statement was interrupted must still roll back).
** A statement started while another runs (one read row by row) takes the clock over: the watchdog keeps
** one deadline, the latest, and once that statement ends the other runs untimed. Gazette reads no
** statement row by row (no .iterate()), so every statement it runs is timed.
*/
static int traceCb(unsigned type, void *ctx, void *stmt, void *arg){
  Watchdog *w = (Watchdog*)ctx;
  if( type==SQLITE_TRACE_STMT ){
    const char *z = (const char*)arg;
    if( z==0 ) return 0;
    while( *z==' ' || *z=='\t' || *z=='\n' ) z++;
    if( strncmp(z, "--", 2)==0 || strncmp(z, "SELECT gazette_budget(", 22)==0 || sqlite3_strnicmp(z, "ROLLBACK", 8)==0 ) return 0;
    pthread_mutex_lock(&w->mu);
    if( w->limitMs>0 ){
      clock_gettime(CLOCK_MONOTONIC, &w->deadline);
      addMs(&w->deadline, w->limitMs);
      w->running = stmt;
    }else{
      w->running = 0;
    }
    pthread_mutex_unlock(&w->mu);
  }else if( type==SQLITE_TRACE_PROFILE ){
    pthread_mutex_lock(&w->mu);
    if( w->running==stmt ) w->running = 0;
    pthread_mutex_unlock(&w->mu);
  }
  return 0;
}

static void interruptsFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Watchdog *w = (Watchdog*)sqlite3_user_data(ctx);
  sqlite3_int64 n;
  (void)argc; (void)argv;
  pthread_mutex_lock(&w->mu);
  n = w->interrupts;
  pthread_mutex_unlock(&w->mu);
  sqlite3_result_int64(ctx, n);
}

static void versionFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  (void)argc; (void)argv;
  sqlite3_result_int(ctx, GAZETTE_NATIVE_VERSION);
}

/* Phrase frequencies of the current row, weighted per column; reused across rows of one query. */
typedef struct RankData {
  int nPhrase;
  double *aFreq;
} RankData;

static void rankFunc(
  const Fts5ExtensionApi *pApi,
  Fts5Context *pFts,
  sqlite3_context *pCtx,
  int nVal,
  sqlite3_value **apVal
){
  const double k1 = 1.2;
  const double b = 0.75;
  double avgdl = nVal>0 ? sqlite3_value_double(apVal[0]) : 0.0;
  RankData *pData = (RankData*)pApi->xGetAuxdata(pFts, 0);
  int rc = SQLITE_OK;
  int nInst = 0;
  int nTok = 0;
  int i;
  double score = 0.0;
  if( avgdl<=0.0 ) avgdl = 1.0;
  if( pData==0 ){
    int nPhrase = pApi->xPhraseCount(pFts);
    pData = (RankData*)sqlite3_malloc64(sizeof(RankData) + sizeof(double) * (nPhrase>0 ? nPhrase : 1));
    if( pData==0 ){
      sqlite3_result_error_nomem(pCtx);
      return;
    }
    pData->nPhrase = nPhrase;
    pData->aFreq = (double*)&pData[1];
    rc = pApi->xSetAuxdata(pFts, pData, sqlite3_free);
    if( rc!=SQLITE_OK ){
      sqlite3_result_error_code(pCtx, rc);
      return;
    }
  }
  memset(pData->aFreq, 0, sizeof(double) * pData->nPhrase);
  rc = pApi->xInstCount(pFts, &nInst);
  for(i=0; rc==SQLITE_OK && i<nInst; i++){
    int ip, ic, io;
    rc = pApi->xInst(pFts, i, &ip, &ic, &io);
    if( rc==SQLITE_OK && ip>=0 && ip<pData->nPhrase ){
      pData->aFreq[ip] += (nVal > ic + 1) ? sqlite3_value_double(apVal[ic + 1]) : 1.0;
    }
  }
  if( rc==SQLITE_OK ) rc = pApi->xColumnSize(pFts, -1, &nTok);
  if( rc!=SQLITE_OK ){
    sqlite3_result_error_code(pCtx, rc);
    return;
  }
  for(i=0; i<pData->nPhrase; i++){
    double f = pData->aFreq[i];
    score += (f * (k1 + 1.0)) / (f + k1 * (1.0 - b + b * (double)nTok / avgdl));
  }
  sqlite3_result_double(pCtx, -1.0 * score);
}


/*
** gazette_hits(article_search, col): how many instances of the query's phrases the current row holds in
** column `col` (every column when negative). Read from the position lists FTS5 already has for the match,
** without reading or tokenizing the text: an upper bound of the marks snippet() could put in that column,
** so snippetsOf (src/articles/search-index.ts) asks for a body's snippet only when it could win.
*/
static void hitsFunc(
  const Fts5ExtensionApi *pApi,
  Fts5Context *pFts,
  sqlite3_context *pCtx,
  int nVal,
  sqlite3_value **apVal
){
  int col = nVal>0 ? sqlite3_value_int(apVal[0]) : -1;
  int nInst = 0;
  int n = 0;
  int i;
  int rc = pApi->xInstCount(pFts, &nInst);
  for(i=0; rc==SQLITE_OK && i<nInst; i++){
    int ip, ic, io;
    rc = pApi->xInst(pFts, i, &ip, &ic, &io);
    if( rc==SQLITE_OK && (col<0 || ic==col) ) n++;
  }
  if( rc!=SQLITE_OK ){
    sqlite3_result_error_code(pCtx, rc);
    return;
  }
  sqlite3_result_int(pCtx, n);
}

/* The search index's tokenizer, made once per connection for gazette_tokens(). */
typedef struct Tokens {
  fts5_tokenizer api;
  Fts5Tokenizer *tokenizer;
} Tokens;

typedef struct TokenList {
  char *buf;                /* JSON array being built */
  sqlite3_int64 n, cap;
  int count;
  int distinct;
  sqlite3_uint64 *hashes;   /* open addressing on token hashes (distinct only) */
  int *starts;              /* offset of each token in buf, parallel to hashes */
  int *lens;
  int slots, used;
  int oom;
} TokenList;

static int listAppend(TokenList *l, const char *z, int n){
  if( l->n + n + 8 > l->cap ){
    sqlite3_int64 cap = (l->cap ? l->cap * 2 : 256) + n + 8;
    char *buf = (char*)sqlite3_realloc64(l->buf, cap);
    if( buf==0 ){ l->oom = 1; return SQLITE_NOMEM; }
    l->buf = buf;
    l->cap = cap;
  }
  memcpy(l->buf + l->n, z, n);
  l->n += n;
  return SQLITE_OK;
}

static sqlite3_uint64 fnv1a(const char *z, int n){
  sqlite3_uint64 h = 1469598103934665603ULL;
  int i;
  for(i=0; i<n; i++){ h ^= (unsigned char)z[i]; h *= 1099511628211ULL; }
  return h | 1;             /* 0 marks an empty slot */
}

/* Whether the token is already in the list; if not, remembers it at `start`. */
static int listSeen(TokenList *l, const char *z, int n, int start){
  sqlite3_uint64 h = fnv1a(z, n);
  int i;
  if( (l->used + 1) * 2 > l->slots ){
    int slots = l->slots ? l->slots * 2 : 64;
    sqlite3_uint64 *hashes = (sqlite3_uint64*)sqlite3_malloc64(sizeof(sqlite3_uint64) * slots);
    int *starts = (int*)sqlite3_malloc64(sizeof(int) * slots);
    int *lens = (int*)sqlite3_malloc64(sizeof(int) * slots);
    if( hashes==0 || starts==0 || lens==0 ){
      sqlite3_free(hashes); sqlite3_free(starts); sqlite3_free(lens);
      l->oom = 1;
      return 1;
    }
    memset(hashes, 0, sizeof(sqlite3_uint64) * slots);
    for(i=0; i<l->slots; i++){
      if( l->hashes[i] ){
        int j = (int)(l->hashes[i] % (sqlite3_uint64)slots);
        while( hashes[j] ) j = (j + 1) % slots;
        hashes[j] = l->hashes[i]; starts[j] = l->starts[i]; lens[j] = l->lens[i];
      }
    }
    sqlite3_free(l->hashes); sqlite3_free(l->starts); sqlite3_free(l->lens);
    l->hashes = hashes; l->starts = starts; l->lens = lens; l->slots = slots;
  }
  for(i = (int)(h % (sqlite3_uint64)l->slots); l->hashes[i]; i = (i + 1) % l->slots){
    if( l->hashes[i]==h && l->lens[i]==n && memcmp(l->buf + l->starts[i], z, n)==0 ) return 1;
  }
  l->hashes[i] = h; l->starts[i] = start; l->lens[i] = n;
  l->used++;
  return 0;
}

static int tokenCb(void *ctx, int tflags, const char *z, int n, int iStart, int iEnd){
  TokenList *l = (TokenList*)ctx;
  int start, i;
  (void)iStart; (void)iEnd;
  if( tflags & FTS5_TOKEN_COLOCATED ) return SQLITE_OK;
  if( listAppend(l, l->count ? ",\"" : "\"", l->count ? 2 : 1) ) return SQLITE_NOMEM;
  start = (int)l->n;
  for(i=0; i<n; i++){
    char c = z[i];
    if( c=='"' || c=='\\' ){ if( listAppend(l, "\\", 1) ) return SQLITE_NOMEM; }
    if( listAppend(l, &c, 1) ) return SQLITE_NOMEM;
  }
  if( l->distinct && listSeen(l, l->buf + start, (int)l->n - start, start) ){
    if( l->oom ) return SQLITE_NOMEM;
    l->n = start - (l->count ? 2 : 1);  /* drop the repeat and its separator */
    return SQLITE_OK;
  }
  if( listAppend(l, "\"", 1) ) return SQLITE_NOMEM;
  l->count++;
  return SQLITE_OK;
}

static void tokensFunc(sqlite3_context *ctx, int argc, sqlite3_value **argv){
  Tokens *t = (Tokens*)sqlite3_user_data(ctx);
  TokenList l;
  const char *text = (const char*)sqlite3_value_text(argv[0]);
  int rc = SQLITE_OK;
  memset(&l, 0, sizeof(l));
  l.distinct = argc > 1 && sqlite3_value_int(argv[1]) != 0;
  if( listAppend(&l, "[", 1)==SQLITE_OK && text!=0 ){
    rc = t->api.xTokenize(t->tokenizer, &l, FTS5_TOKENIZE_DOCUMENT, text, sqlite3_value_bytes(argv[0]), tokenCb);
  }
  if( rc==SQLITE_OK && !l.oom ) rc = listAppend(&l, "]", 1);
  sqlite3_free(l.hashes); sqlite3_free(l.starts); sqlite3_free(l.lens);
  if( l.oom || rc==SQLITE_NOMEM ){
    sqlite3_free(l.buf);
    sqlite3_result_error_nomem(ctx);
  }else if( rc!=SQLITE_OK ){
    sqlite3_free(l.buf);
    sqlite3_result_error_code(ctx, rc);
  }else{
    sqlite3_result_text64(ctx, l.buf, (sqlite3_uint64)l.n, sqlite3_free, SQLITE_UTF8);
  }
}

static void tokensDestroy(void *arg){
  Tokens *t = (Tokens*)arg;
  if( t->tokenizer ) t->api.xDelete(t->tokenizer);
  sqlite3_free(t);
}

static int tokensCreate(sqlite3 *db, fts5_api *fts5){
  const char *args[] = GAZETTE_TOKENIZER_ARGS;
  void *userData = 0;
  Tokens *t = (Tokens*)sqlite3_malloc64(sizeof(Tokens));
  int rc;
  if( t==0 ) return SQLITE_NOMEM;
  memset(t, 0, sizeof(*t));
  rc = fts5->xFindTokenizer(fts5, "porter", &userData, &t->api);
  if( rc==SQLITE_OK ) rc = t->api.xCreate(userData, args, (int)(sizeof(args) / sizeof(args[0])), &t->tokenizer);
  if( rc!=SQLITE_OK ){
    sqlite3_free(t);
    return rc;
  }
  return sqlite3_create_function_v2(db, "gazette_tokens", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, t, tokensFunc, 0, 0, tokensDestroy);
}

static fts5_api *fts5Api(sqlite3 *db){
  fts5_api *api = 0;
  sqlite3_stmt *stmt = 0;
  if( sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, 0)==SQLITE_OK ){
    sqlite3_bind_pointer(stmt, 1, (void*)&api, "fts5_api_ptr", 0);
    sqlite3_step(stmt);
  }
  sqlite3_finalize(stmt);
  return api;
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_gazette_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi){
  Watchdog *w;
  pthread_condattr_t attr;
  fts5_api *fts5;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);

  fts5 = fts5Api(db);
  if( fts5==0 || fts5->iVersion<2 ){
    *pzErrMsg = sqlite3_mprintf("gazette: this SQLite has no FTS5");
    return SQLITE_ERROR;
  }
  rc = fts5->xCreateFunction(fts5, "gazette_rank", 0, rankFunc, 0);
  if( rc==SQLITE_OK ) rc = fts5->xCreateFunction(fts5, "gazette_hits", 0, hitsFunc, 0);
  if( rc==SQLITE_OK ) rc = tokensCreate(db, fts5);
  if( rc!=SQLITE_OK ) return rc;

  w = (Watchdog*)sqlite3_malloc64(sizeof(Watchdog));
  if( w==0 ) return SQLITE_NOMEM;
  memset(w, 0, sizeof(*w));
  w->db = db;
  pthread_mutex_init(&w->mu, 0);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &attr);
  pthread_condattr_destroy(&attr);
  if( pthread_create(&w->thread, 0, watchdogMain, w)!=0 ){
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    sqlite3_free(w);
    *pzErrMsg = sqlite3_mprintf("gazette: cannot start the query budget thread");
    return SQLITE_ERROR;
  }
  /* The watchdog lives as long as gazette_budget: SQLite destroys it when the connection closes. */
  rc = sqlite3_create_function_v2(db, "gazette_budget", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, w, budgetFunc, 0, 0, watchdogDestroy);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function_v2(db, "gazette_interrupts", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, w, interruptsFunc, 0, 0, 0);
  }
  if( rc==SQLITE_OK ) rc = sqlite3_trace_v2(db, SQLITE_TRACE_STMT | SQLITE_TRACE_PROFILE, traceCb, w);
  if( rc==SQLITE_OK ){
    rc = sqlite3_create_function_v2(db, "gazette_native_version", 0, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, versionFunc, 0, 0, 0);
  }
  return rc;
}
