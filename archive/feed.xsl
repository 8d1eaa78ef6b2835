<?xml version="1.0" encoding="utf-8"?>
<!-- Shows newsarchive's Atom feed of changes as a page when a browser opens it. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom" exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="utf-8" indent="yes"/>
  <xsl:template match="/atom:feed">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="atom:title"/></title>
        <style>
          body { font-family: system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.5; }
          .about { background: #eef3fb; padding: 0.6em 0.9em; border-radius: 4px; }
          .entry { border-top: 1px solid #ddd; padding: 0.6em 0; }
          .entry h2 { font-size: 1.1em; margin: 0.2em 0; }
          .when { color: #666; font-size: 0.9em; }
          .passage { white-space: pre-wrap; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="atom:title"/></h1>
        <p class="about">This is an Atom feed: copy its address
          (<code><xsl:value-of select="atom:link[@rel='self']/@href"/></code>) into a feed reader
          to follow the changes. Deleted words are shown as [-deleted-], inserted ones as {+inserted+}.</p>
        <xsl:for-each select="atom:entry">
          <div class="entry">
            <h2><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h2>
            <div class="when"><xsl:value-of select="translate(substring(atom:updated, 1, 16), 'T', ' ')"/> UTC</div>
            <p class="passage"><xsl:value-of select="atom:summary"/></p>
          </div>
        </xsl:for-each>
        <xsl:if test="not(atom:entry)"><p>No changes yet.</p></xsl:if>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
